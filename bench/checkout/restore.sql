-- bench/checkout/restore.sql: undoes setup.sql (orders of the bench buyers,
-- the buyers, their accounts, the stock of SKU-00001..02000).
SET client_min_messages = warning;
DELETE FROM orders WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'ckb-%');
DELETE FROM memberships WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'ckb-%');
DELETE FROM users WHERE username LIKE 'ckb-%';
DELETE FROM accounts WHERE code LIKE 'CKB-%';
DO $$ BEGIN
    IF to_regclass('bench_checkout_stock') IS NOT NULL THEN
        UPDATE stock s SET on_hand = b.on_hand, reserved = b.reserved
          FROM bench_checkout_stock b WHERE b.product_id = s.product_id;
        DROP TABLE bench_checkout_stock;
    END IF;
END $$;
