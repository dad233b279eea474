-- Demo loader, step 3 (scale data, only with --accounts / --contracts):
-- :accounts accounts BENCH-00001.. in trees of 40 under their own roots
-- (1 root, 3 children, 9 grandchildren, 27 great-grandchildren: 4 levels),
-- one buyer user per account, and :contracts contract rules spread over them.
-- Never under ACME or GLOBEX. Account k sits in tree (k-1)/40 at position
-- (k-1)%40; the parent of position p is 0 for p in 1..3, 1+(p-4)/3 for 4..12,
-- 4+(p-13)/3 for 13..39.

CREATE TEMP TABLE demo_bench ON COMMIT DROP AS
SELECT k, t, p,
       CASE WHEN p = 0 THEN 0 WHEN p <= 3 THEN 1 WHEN p <= 12 THEN 2 ELSE 3 END AS level,
       CASE WHEN p = 0 THEN NULL
            WHEN p <= 3 THEN t * 40 + 1
            WHEN p <= 12 THEN t * 40 + 1 + (1 + (p - 4) / 3)
            ELSE t * 40 + 1 + (4 + (p - 13) / 3) END AS parent_k,
       format('BENCH-%s', lpad(k::text, 5, '0')) AS code,
       CASE WHEN t % 4 = 3 THEN 'EUR' ELSE 'USD' END AS currency,
       CASE WHEN t % 4 = 3 THEN 'DE' ELSE 'US' END AS country
  FROM generate_series(1, :accounts) AS k
  CROSS JOIN LATERAL (SELECT (k - 1) / 40 AS t, (k - 1) % 40 AS p) AS pos;

-- Roots: invoicing, a credit limit, GOLD / SILVER / no tier in turn.
INSERT INTO accounts (code, name, currency, country, is_invoicing, credit_limit_minor, price_list_id)
SELECT b.code, format('Bench Holdings %s', lpad((b.t + 1)::text, 4, '0')), b.currency, b.country,
       true, 1000000 + (b.t % 10) * 500000,
       (SELECT id FROM price_lists WHERE code = CASE b.t % 3 WHEN 0 THEN 'GOLD' WHEN 1 THEN 'SILVER' END)
  FROM demo_bench b WHERE b.level = 0 ORDER BY b.k;

-- Levels 1..3, one statement each.
INSERT INTO accounts (code, name, parent_id, currency, country)
SELECT b.code, format('Bench Unit %s (level %s)', b.code, b.level), pa.id, b.currency, b.country
  FROM demo_bench b
  JOIN demo_bench pb ON pb.k = b.parent_k
  JOIN accounts pa ON pa.code = pb.code
 WHERE b.level = 1 ORDER BY b.k;
INSERT INTO accounts (code, name, parent_id, currency, country)
SELECT b.code, format('Bench Unit %s (level %s)', b.code, b.level), pa.id, b.currency, b.country
  FROM demo_bench b
  JOIN demo_bench pb ON pb.k = b.parent_k
  JOIN accounts pa ON pa.code = pb.code
 WHERE b.level = 2 ORDER BY b.k;
INSERT INTO accounts (code, name, parent_id, currency, country)
SELECT b.code, format('Bench Unit %s (level %s)', b.code, b.level), pa.id, b.currency, b.country
  FROM demo_bench b
  JOIN demo_bench pb ON pb.k = b.parent_k
  JOIN accounts pa ON pa.code = pb.code
 WHERE b.level = 3 ORDER BY b.k;

-- One buyer per bench account: user bench-00001 etc., password "demo".
INSERT INTO users (username, password_hash, display_name, account_id)
SELECT lower(a.code), '$2y$10$9NDLtomTUHirRPIuhzh7IuBhkF1SjsWpt2/gmRGh6A8uInUHqtR5C',
       'Bench buyer ' || a.code, a.id
  FROM accounts a WHERE a.code LIKE 'BENCH-%' ORDER BY a.code;
INSERT INTO memberships (user_id, account_id, role)
SELECT u.id, u.account_id, 'buyer'
  FROM users u JOIN accounts a ON a.id = u.account_id
 WHERE a.code LIKE 'BENCH-%';

-- Contracts: rule i (0-based) goes to bench account i % A, on product
-- ((i / A) + 13 * (i % A)) % P, so no (account, product) pair repeats while
-- :contracts <= A * P (the script checks). Four in five fix a price at
-- 70..89 % of the list price in the account's currency, one in five is a
-- 5..25 % discount; one in ten has a validity window (some past, some current).
CREATE TEMP TABLE demo_bench_account ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY code) - 1)::int AS a, id, currency
  FROM accounts WHERE code LIKE 'BENCH-%';
CREATE TEMP TABLE demo_bench_product ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY p.sku) - 1)::int AS j, p.id,
       max(r.price_minor) FILTER (WHERE r.currency = 'USD') AS usd,
       max(r.price_minor) FILTER (WHERE r.currency = 'EUR') AS eur
  FROM products p JOIN price_rules r ON r.kind = 'list' AND r.product_id = p.id
 GROUP BY p.id, p.sku;
ANALYZE demo_bench_account;
ANALYZE demo_bench_product;

SELECT count(*) AS bench_a FROM demo_bench_account \gset
SELECT count(*) AS bench_p FROM demo_bench_product \gset

INSERT INTO price_rules (kind, account_id, product_id, currency, price_minor, discount_bp,
                         valid_from, valid_to)
SELECT 'contract', ba.id, bp.id,
       CASE WHEN i % 5 = 4 THEN NULL ELSE ba.currency END,
       CASE WHEN i % 5 = 4 THEN NULL
            ELSE greatest(5, (CASE ba.currency WHEN 'EUR' THEN bp.eur ELSE bp.usd END)
                             * (70 + i % 20) / 100 / 5 * 5) END,
       CASE WHEN i % 5 = 4 THEN 500 + (i % 21) * 100 END,
       CASE WHEN i % 10 = 7 THEN timestamptz '2024-01-01 00:00:00+00' + (i % 4) * interval '6 months' END,
       CASE WHEN i % 10 = 7 THEN timestamptz '2025-01-01 00:00:00+00' + (i % 4) * interval '1 year' END
  FROM generate_series(0, :contracts - 1) AS i
  JOIN demo_bench_account ba ON ba.a = i % :bench_a
  JOIN demo_bench_product bp ON bp.j = ((i / :bench_a) + 13 * (i % :bench_a)) % :bench_p;
