-- bench/checkout/setup.sql: the checkout benchmark's own accounts and
-- buyers, on the bench instance. psql variables: :users (how many), :hash
-- (the buyers' bcrypt hash). Idempotent; bench/checkout/restore.sql undoes it.
--   CKB-01.. : root accounts, USD, each holding its own (huge) credit, no
--              approval rules: one buyer each (ckb-01..), so 32 connections
--              do not all queue on one credit row (a portal serves many
--              companies at once);
--   stock    : SKU-00001..02000 get a billion units (old values kept).
SET client_min_messages = warning;

-- Accounts and buyers are kept if an earlier run left them: creating or
-- deleting accounts changes prices (a snapshot rebuild), the run waits for it.
DELETE FROM orders WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'ckb-%');
INSERT INTO accounts (code, name, currency, country, is_invoicing, credit_limit_minor)
SELECT format('CKB-%s', lpad(i::text, 2, '0')), format('Checkout bench %s', i), 'USD', 'US',
       true, 100000000000000
  FROM generate_series(1, :users) AS i ORDER BY i
ON CONFLICT (code) DO NOTHING;
UPDATE accounts SET credit_used_minor = 0 WHERE code LIKE 'CKB-%' AND credit_used_minor <> 0;
INSERT INTO users (username, password_hash, display_name, account_id)
SELECT lower(a.code), :'hash', 'Checkout bench buyer', a.id
  FROM accounts a WHERE a.code LIKE 'CKB-%' ORDER BY a.code
ON CONFLICT (username) DO NOTHING;
INSERT INTO memberships (user_id, account_id, role)
SELECT u.id, u.account_id, 'buyer' FROM users u WHERE u.username LIKE 'ckb-%'
ON CONFLICT DO NOTHING;

-- a run that could not clean up left its reservations: start from the saved values
DO $$ BEGIN
    IF to_regclass('bench_checkout_stock') IS NOT NULL THEN
        UPDATE stock s SET on_hand = b.on_hand, reserved = b.reserved
          FROM bench_checkout_stock b WHERE b.product_id = s.product_id;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS bench_checkout_stock AS
SELECT product_id, on_hand, reserved FROM stock WHERE product_id BETWEEN 1 AND 2000;
UPDATE stock SET on_hand = 1000000000 WHERE product_id BETWEEN 1 AND 2000;
ANALYZE accounts, users, memberships;

-- pgbench derives ids from u = 0..users-1: they must be contiguous, and
-- product id n must be SKU-n (the demo loader makes it so)
SELECT min(id) AS account_base, max(id) - min(id) + 1 = :users AS accounts_ok
  FROM accounts WHERE code LIKE 'CKB-%' \gset
SELECT min(id) AS user_base, max(id) - min(id) + 1 = :users AS users_ok
  FROM users WHERE username LIKE 'ckb-%' \gset
SELECT count(*) = 2000 AS skus_ok FROM products
 WHERE id BETWEEN 1 AND 2000 AND sku = format('SKU-%s', lpad(id::text, 5, '0')) \gset
SELECT version AS pricing_version FROM pricing_state WHERE id = 1 \gset
\echo BASES :account_base :user_base :accounts_ok :users_ok :skus_ok :pricing_version
