-- Demo loader, step 0: guard and optional reset. Run by scripts/load-demo.sh
-- inside one transaction with the other sql/demo/*.sql files; psql variables:
--   :reset (0|1), :products, :accounts, :contracts (integers, checked by the script).
SET LOCAL client_min_messages = warning;
-- Index builds at the end sort up to a million rows: in memory, please.
SET LOCAL maintenance_work_mem = '256MB';
-- One loader at a time.
SELECT pg_advisory_xact_lock(hashtext('b2b_load_demo')) AS locked \gset

\if :reset
-- Every data table. Not schema_migrations, not currencies (reference data
-- seeded by 001_core), not pricing_state: its version only ever goes up, and
-- the truncations below bump it. CASCADE also empties tables other modules
-- add that reference these (sessions, read models with foreign keys).
TRUNCATE invoice_lines, order_history, order_lines, outbox, orders, invoices,
         cart_lines, carts, approval_rules, price_rules, stock,
         catalog_access_rules, products, product_groups, categories,
         memberships, users, account_closure, accounts, price_lists
  RESTART IDENTITY CASCADE;
DELETE FROM currencies WHERE code NOT IN ('USD', 'EUR', 'GBP', 'JPY', 'KWD');
\endif

-- Checked again here, under the lock: the script's own check ran outside
-- this transaction.
SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM products) AS has_data \gset
\if :has_data
DO $$ BEGIN
    RAISE EXCEPTION 'load-demo: the database already holds accounts or products; nothing loaded (use --reset to replace them)';
END $$;
\endif

-- Bulk mode (what pg_restore does): drop the secondary indexes, unique and
-- exclusion constraints and foreign keys of the big tables, and re-create
-- them from their catalog definitions in 90_finish.sql. Checking a million
-- rows once at the end is many times faster than row by row, and just as
-- strict: a row that breaks any of them fails the whole load.
CREATE TEMP TABLE demo_deferred_ddl (ord serial, is_fk boolean, stmt text) ON COMMIT DROP;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.conrelid::regclass AS tbl, c.conname, c.contype,
               pg_get_constraintdef(c.oid) AS def
          FROM pg_constraint c
         WHERE c.conrelid IN ('price_rules'::regclass, 'products'::regclass, 'stock'::regclass)
           AND c.contype IN ('f', 'u', 'x')
         ORDER BY c.conrelid, c.conname
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
            INSERT INTO demo_deferred_ddl (is_fk, stmt)
            VALUES (r.contype = 'f', format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def));
        EXCEPTION WHEN dependent_objects_still_exist THEN
            NULL;  -- something else relies on it: leave it in place
        END;
    END LOOP;
    FOR r IN
        SELECT i.indexrelid::regclass AS idx, pg_get_indexdef(i.indexrelid) AS def
          FROM pg_index i
         WHERE i.indrelid IN ('price_rules'::regclass, 'products'::regclass, 'stock'::regclass)
           AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid)
         ORDER BY i.indexrelid
    LOOP
        EXECUTE format('DROP INDEX %s', r.idx);
        INSERT INTO demo_deferred_ddl (is_fk, stmt) VALUES (false, r.def);
    END LOOP;
END $$;
