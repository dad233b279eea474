-- 030_orders: what checkout, approvals and invoicing keep beyond the
-- contract of 004_orders (columns are only added, never renamed).
-- Run by scripts/migrate.sh inside one transaction (no BEGIN/COMMIT here).

-- What checkout took, so reject and cancel give back exactly that:
-- the credit charge (in the credit holder's currency, at the rate of the
-- day) and, per line, the units reserved and the units on backorder.
ALTER TABLE orders
    ADD COLUMN credit_account_id bigint REFERENCES accounts (id),
    ADD COLUMN credit_minor bigint NOT NULL DEFAULT 0
        CONSTRAINT orders_credit_nonnegative CHECK (credit_minor >= 0),
    -- md5 of (account, po_number, promo_code, note): a second request with
    -- the same Idempotency-Key but another body is refused, not merged.
    ADD COLUMN request_fingerprint text,
    ADD COLUMN approval_required boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT orders_credit_has_account
        CHECK (credit_minor = 0 OR credit_account_id IS NOT NULL);

ALTER TABLE order_lines
    ADD COLUMN name text,
    ADD COLUMN reserved_qty integer NOT NULL DEFAULT 0
        CONSTRAINT order_lines_reserved_nonnegative CHECK (reserved_qty >= 0),
    ADD COLUMN backordered_qty integer NOT NULL DEFAULT 0
        CONSTRAINT order_lines_backordered_nonnegative CHECK (backordered_qty >= 0),
    -- the unit price the cart showed, when checkout found another one
    ADD COLUMN cart_unit_price_minor bigint,
    ADD CONSTRAINT order_lines_reserved_plus_backordered
        CHECK (reserved_qty + backordered_qty = qty);

-- Orders of a user (GET /orders for buyers) and of the credit holder.
CREATE INDEX orders_user_id_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_credit_account_idx ON orders (credit_account_id)
    WHERE credit_account_id IS NOT NULL;

-- Invoice numbers: INV-<yyyymm>-<n>, n from this sequence (gaps are fine,
-- duplicates impossible).
CREATE SEQUENCE invoice_number_seq;
