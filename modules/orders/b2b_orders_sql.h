/*
 * b2b_orders_sql.h: the statements of checkout, in one header so that the
 * module (b2b_checkout.c) and the benchmark's pgbench script generator
 * (bench/checkout/sqlgen.c) run exactly the same SQL. Plain C strings, no
 * httpd types. Placeholders are apr_dbd's %s, in order.
 */
#ifndef B2B_ORDERS_SQL_H
#define B2B_ORDERS_SQL_H

/* Timestamps as the API shows them: ISO 8601 in UTC, e.g. 2025-06-01T12:00:00Z. */
#define B2B_SQL_TS(col) \
    "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* First in the checkout transaction. The statements below join a dozen
 * relations: planning them afresh (PostgreSQL's custom plans, which it keeps
 * choosing for them) costs ~12 ms against ~1 ms of execution; their generic
 * plans are as good, so use those, for this transaction only. */
#define B2B_SQL_CHECKOUT_PLAN_MODE \
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"

/* The order (if any) of this user with this key, with whether the earlier
 * request had the same body, and the cart lines. */
#define B2B_SQL_CHECKOUT_LOAD_COMMON \
    "SELECT 'o', o.id::text, o.status, " \
    "(o.request_fingerprint IS NOT DISTINCT FROM md5(concat_ws(chr(31), %s, %s, %s, %s)))::text, " \
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL " \
    "FROM orders o WHERE o.user_id = %s::bigint AND o.idempotency_key = %s "

#define B2B_SQL_CHECKOUT_LOAD_CART B2B_SQL_CHECKOUT_LOAD_COMMON \
    "UNION ALL " \
    "SELECT 'l', p.id::text, p.sku, p.name, l.qty::text, " \
    "coalesce(l.unit_price_minor, -1)::text, coalesce(l.currency, ''), " \
    "coalesce(p.product_group_id, 0)::text, cat.code, p.allow_backorder::text, " \
    "p.active::text, c.id::text, coalesce(l.pricing_generation, 0)::text " \
    "FROM carts c JOIN cart_lines l ON l.cart_id = c.id " \
    "JOIN products p ON p.id = l.product_id " \
    "JOIN categories cat ON cat.id = p.category_id " \
    "WHERE c.user_id = %s::bigint AND c.account_id = %s::bigint"

#define B2B_SQL_CHECKOUT_LOAD_DIRECT B2B_SQL_CHECKOUT_LOAD_COMMON \
    "UNION ALL " \
    "SELECT 'l', p.id::text, p.sku, p.name, NULL, '-1', '', " \
    "coalesce(p.product_group_id, 0)::text, cat.code, p.allow_backorder::text, " \
    "p.active::text, '0', '0' " \
    "FROM products p JOIN categories cat ON cat.id = p.category_id " \
    "WHERE p.sku = ANY (%s::text[])"

/* 1. Stock. Locks in product order (no deadlock between two carts), then
 * takes min(qty, available) where the whole qty is there or backorder is
 * allowed. One row per locked product: taken (-1: refused), available. */
#define B2B_SQL_CHECKOUT_RESERVE \
    "WITH want AS (SELECT * FROM unnest(%s::bigint[], %s::int[]) AS w (product_id, qty)), " \
    "locked AS (SELECT s.product_id, s.on_hand, s.reserved, w.qty, p.allow_backorder " \
    "  FROM stock s JOIN want w ON w.product_id = s.product_id " \
    "  JOIN products p ON p.id = s.product_id " \
    "  ORDER BY s.product_id FOR UPDATE OF s), " \
    "upd AS (UPDATE stock s " \
    "  SET reserved = s.reserved + LEAST(l.qty, GREATEST(l.on_hand - l.reserved, 0)) " \
    "  FROM locked l WHERE s.product_id = l.product_id " \
    "  AND (l.on_hand - l.reserved >= l.qty OR l.allow_backorder) " \
    "  RETURNING s.product_id, LEAST(l.qty, GREATEST(l.on_hand - l.reserved, 0)) AS taken) " \
    "SELECT l.product_id, coalesce(u.taken, -1), GREATEST(l.on_hand - l.reserved, 0) " \
    "FROM locked l LEFT JOIN upd u ON u.product_id = l.product_id"

/* 2. The order, its lines, history, outbox row; the cart lines go. */
#define B2B_SQL_CHECKOUT_INSERT \
    "WITH p AS (SELECT %s::bigint AS account_id, %s::bigint AS user_id, %s::text AS po, " \
    "  %s::text AS idem_key, %s::char(3) AS currency, %s::bigint AS net, " \
    "  %s::bigint AS tax, %s::bigint AS gross, nullif(%s, '') AS promo, " \
    "  nullif(%s, '') AS note, %s::bigint AS generation, nullif(%s, '')::bigint AS cart_id), " \
    "lines AS (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::bigint[], " \
    "  %s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::bigint[]) " \
    "  WITH ORDINALITY AS u (product_id, sku, qty, unit, net, tax, gross, reserved, " \
    "  backordered, cart_unit, line_no)), " \
    /* an approval rule of the account or an ancestor applies when the net \
     * of the order (or of its lines in the rule's product group), in the \
     * rule's currency, reaches the threshold; no fx rate: it applies */ \
    "approval AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM p " \
    "  JOIN account_closure c ON c.descendant_id = p.account_id " \
    "  JOIN approval_rules r ON r.account_id = c.ancestor_id " \
    "  JOIN currencies fc ON fc.code = p.currency " \
    "  JOIN currencies tc ON tc.code = r.currency " \
    "  LEFT JOIN LATERAL (SELECT x.fx_rate_micro AS rate FROM price_rules x " \
    "    WHERE r.currency <> p.currency " \
    "    AND x.kind = 'fx' AND x.currency = p.currency AND x.to_currency = r.currency " \
    "    AND (x.valid_from IS NULL OR x.valid_from <= now()) " \
    "    AND (x.valid_to IS NULL OR now() < x.valid_to) ORDER BY x.id LIMIT 1) fx ON true " \
    "  CROSS JOIN LATERAL (SELECT coalesce(sum(l.net), 0) AS amount, count(*) AS n " \
    "    FROM lines l JOIN products pr ON pr.id = l.product_id " \
    "    WHERE r.product_group_id IS NULL OR pr.product_group_id = r.product_group_id) s " \
    "  WHERE s.n > 0 AND (CASE WHEN r.currency = p.currency THEN s.amount " \
    "    WHEN fx.rate IS NULL THEN r.threshold_minor " \
    "    ELSE round(s.amount * fx.rate / 1000000.0 " \
    "      * power(10::numeric, tc.minor_digits - fc.minor_digits)) END) " \
    "    >= r.threshold_minor) AS needed), " \
    "o AS (INSERT INTO orders (account_id, user_id, po_number, idempotency_key, status, " \
    "  currency, net_minor, tax_minor, gross_minor, promo_code, note, pricing_generation, " \
    "  request_fingerprint, approval_required) " \
    "  SELECT p.account_id, p.user_id, p.po, p.idem_key, " \
    "  CASE WHEN a.needed THEN 'pending_approval' ELSE 'queued' END, p.currency, p.net, " \
    "  p.tax, p.gross, p.promo, p.note, p.generation, " \
    "  md5(concat_ws(chr(31), p.account_id::text, p.po, coalesce(p.promo, ''), " \
    "  coalesce(p.note, ''))), a.needed FROM p, approval a " \
    "  ON CONFLICT (user_id, idempotency_key) DO NOTHING " \
    "  RETURNING id, status, created_at), " \
    "ol AS (INSERT INTO order_lines (order_id, line_no, product_id, sku, name, qty, " \
    "  unit_price_minor, net_minor, tax_minor, gross_minor, reserved_qty, backordered_qty, " \
    "  cart_unit_price_minor) " \
    "  SELECT o.id, l.line_no, l.product_id, l.sku, pr.name, l.qty, l.unit, l.net, l.tax, " \
    "  l.gross, l.reserved, l.backordered, l.cart_unit " \
    "  FROM o CROSS JOIN lines l JOIN products pr ON pr.id = l.product_id), " \
    "h AS (INSERT INTO order_history (order_id, status, actor_user_id, note) " \
    "  SELECT o.id, o.status, p.user_id, 'checkout' FROM o, p), " \
    "ob AS (INSERT INTO outbox (order_id) SELECT o.id FROM o WHERE o.status = 'queued'), " \
    "cl AS (DELETE FROM cart_lines c USING p WHERE c.cart_id = p.cart_id " \
    "  AND c.product_id IN (SELECT product_id FROM lines) AND EXISTS (SELECT 1 FROM o)) " \
    "SELECT o.id, o.status, " B2B_SQL_TS("o.created_at") " FROM o"

/* 3. Credit, at the nearest account holding a limit, in its currency. One
 * row if there is such an account: holder code, charge (-1: no fx rate),
 * charged (1/0), available before, holder currency and digits. */
#define B2B_SQL_CHECKOUT_CREDIT \
    "WITH p AS (SELECT %s::bigint AS account_id, %s::bigint AS gross, " \
    "  %s::char(3) AS currency, %s::bigint AS order_id), " \
    /* b2b_credit_holder(), spelled out: a SQL function call is planned \
     * afresh on every execution */ \
    "holder AS (SELECT a.id, a.code, a.currency, a.credit_limit_minor, a.credit_used_minor " \
    "  FROM p JOIN account_closure c ON c.descendant_id = p.account_id " \
    "  JOIN accounts a ON a.id = c.ancestor_id WHERE a.credit_limit_minor IS NOT NULL " \
    "  ORDER BY c.depth LIMIT 1), " \
    "charge AS (SELECT h.id, CASE WHEN h.currency = p.currency THEN p.gross " \
    "    WHEN fx.rate IS NULL THEN NULL " \
    "    ELSE round(p.gross * fx.rate / 1000000.0 " \
    "      * power(10::numeric, tc.minor_digits - fc.minor_digits))::bigint END AS amount " \
    "  FROM holder h CROSS JOIN p " \
    "  JOIN currencies fc ON fc.code = p.currency JOIN currencies tc ON tc.code = h.currency " \
    "  LEFT JOIN LATERAL (SELECT x.fx_rate_micro AS rate FROM price_rules x " \
    "    WHERE h.currency <> p.currency " \
    "    AND x.kind = 'fx' AND x.currency = p.currency AND x.to_currency = h.currency " \
    "    AND (x.valid_from IS NULL OR x.valid_from <= now()) " \
    "    AND (x.valid_to IS NULL OR now() < x.valid_to) ORDER BY x.id LIMIT 1) fx ON true), " \
    "upd AS (UPDATE accounts a SET credit_used_minor = a.credit_used_minor + c.amount " \
    "  FROM charge c WHERE a.id = c.id AND c.amount IS NOT NULL " \
    "  AND a.credit_used_minor + c.amount <= a.credit_limit_minor RETURNING a.id), " \
    "ord AS (UPDATE orders o SET credit_account_id = c.id, credit_minor = c.amount " \
    "  FROM p, charge c WHERE o.id = p.order_id AND EXISTS (SELECT 1 FROM upd)) " \
    "SELECT h.code, coalesce(c.amount, -1), (SELECT count(*) FROM upd), " \
    "h.credit_limit_minor - h.credit_used_minor, h.currency, cur.minor_digits " \
    "FROM holder h JOIN charge c ON c.id = h.id JOIN currencies cur ON cur.code = h.currency"

#endif
