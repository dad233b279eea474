-- Demo loader, last step: planner statistics, read models, a summary line.

-- End of bulk mode (00_prepare.sql): indexes and unique/exclusion
-- constraints first, then foreign keys; each validates every row.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT stmt FROM demo_deferred_ddl ORDER BY is_fk, ord LOOP
        EXECUTE r.stmt;
    END LOOP;
END $$;

ANALYZE currencies, price_lists, accounts, account_closure, users, memberships,
        categories, product_groups, products, catalog_access_rules, stock,
        price_rules, approval_rules;

-- Read models belong to the catalog module; if it provides a refresh
-- function, call it so the storefront sees the new data at once.
SELECT to_regprocedure('b2b_refresh_read_models()') IS NOT NULL AS has_refresh \gset
\if :has_refresh
SELECT b2b_refresh_read_models() AS refreshed \gset
\endif

SELECT format('load-demo: %s accounts (%s BENCH), %s users, %s categories, %s products, %s price rules (%s contracts), pricing version %s',
              (SELECT count(*) FROM accounts),
              (SELECT count(*) FROM accounts WHERE code LIKE 'BENCH-%'),
              (SELECT count(*) FROM users),
              (SELECT count(*) FROM categories),
              (SELECT count(*) FROM products),
              (SELECT count(*) FROM price_rules),
              (SELECT count(*) FROM price_rules WHERE kind = 'contract'),
              (SELECT version FROM pricing_state WHERE id = 1)) AS summary \gset
\echo :summary
