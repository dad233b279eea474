-- 050_price_reference: the reference price resolver in SQL. It implements exactly the
-- semantics of modules/pricing/b2b_resolve.c (see its header comment and
-- modules/pricing/README.md) straight from price_rules / accounts / products /
-- currencies, with no snapshot: the "price in the database on every request"
-- baseline of the benchmarks, and the oracle of modules/pricing/tests/differential.sh.
-- Run by scripts/migrate.sh inside one transaction (no BEGIN/COMMIT here).
--
-- All money arithmetic is exact (numeric, integer division); rounding is half away
-- from zero at whole minor units, as in b2b_money.c; any result beyond bigint is the
-- error 'overflow'. Errors come back as a row with every amount NULL and error set to
-- the engine's snake_case status name.

-- round(a / b) half away from zero, exact for integer-valued a and b > 0.
CREATE OR REPLACE FUNCTION b2b_round_div(a numeric, b numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN a >= 0 THEN div(2 * a + b, 2 * b) ELSE -div(-2 * a + b, 2 * b) END
$$;

CREATE OR REPLACE FUNCTION b2b_price_reference(
    p_account_code text, p_sku text, p_qty integer, p_promo_code text, p_currency text,
    p_as_of timestamptz)
RETURNS TABLE (unit_minor bigint, net_minor bigint, tax_minor bigint, gross_minor bigint,
               currency text, error text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_minor CONSTANT numeric := 9223372036854775807;
    acc        record;
    prod       record;
    k          text;          -- requested currency
    kd         integer;
    w          text;          -- working currency (k, or USD when converting)
    wd         integer;
    list_price numeric;
    fx_rate    numeric;
    chain_ids  bigint[];      -- the account, its parent, ... (nearest first)
    r          record;
    pl         bigint;
    n          numeric;       -- negotiated unit price
    u          numeric;       -- unit price
    p          numeric;
    net        numeric;
    tax        numeric := 0;
    gross      numeric;
BEGIN
    IF p_qty IS NULL OR p_qty < 1 OR p_qty > 1000000 THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'bad_quantity'::text;
        RETURN;
    END IF;
    SELECT a.id, a.currency::text AS currency, a.country::text AS country, a.region,
           a.tax_exempt
      INTO acc FROM accounts a WHERE a.code = p_account_code;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'unknown_account'::text;
        RETURN;
    END IF;
    -- inactive products are not in the snapshot either (the worker loads WHERE active)
    SELECT pr.id, pr.product_group_id, pr.tax_class INTO prod FROM products pr
     WHERE pr.sku = p_sku AND pr.active;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'unknown_sku'::text;
        RETURN;
    END IF;
    k := coalesce(nullif(p_currency, ''), acc.currency);
    SELECT c.minor_digits INTO kd FROM currencies c WHERE c.code::text = k;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'unknown_currency'::text;
        RETURN;
    END IF;

    -- 1. list price and working currency
    w := k;
    wd := kd;
    SELECT pr.price_minor INTO list_price FROM price_rules pr
     WHERE pr.kind = 'list' AND pr.product_id = prod.id AND pr.currency::text = k
       AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
       AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
     ORDER BY pr.id LIMIT 1;
    IF NOT FOUND THEN
        SELECT c.minor_digits INTO wd FROM currencies c WHERE c.code::text = 'USD';
        IF NOT FOUND OR k = 'USD' THEN
            RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                                NULL::text, 'no_price'::text;
            RETURN;
        END IF;
        w := 'USD';
        SELECT pr.price_minor INTO list_price FROM price_rules pr
         WHERE pr.kind = 'list' AND pr.product_id = prod.id AND pr.currency::text = 'USD'
           AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
           AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
         ORDER BY pr.id LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                                NULL::text, 'no_price'::text;
            RETURN;
        END IF;
        SELECT pr.fx_rate_micro INTO fx_rate FROM price_rules pr
         WHERE pr.kind = 'fx' AND pr.currency::text = 'USD' AND pr.to_currency::text = k
           AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
           AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
         ORDER BY pr.id LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                                NULL::text, 'no_fx_rate'::text;
            RETURN;
        END IF;
    END IF;

    -- the account chain, nearest first
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT a.id, a.parent_id, 0 FROM accounts a WHERE a.id = acc.id
        UNION ALL
        SELECT a.id, a.parent_id, up.depth + 1 FROM accounts a JOIN up ON a.id = up.parent_id
    )
    SELECT array_agg(up.id ORDER BY up.depth) INTO chain_ids FROM up;

    -- 4. contract (replaces 2 and 3): nearest account, then sku before group, then id
    SELECT pr.price_minor, pr.discount_bp INTO r
      FROM price_rules pr
      JOIN unnest(chain_ids) WITH ORDINALITY AS ch(id, depth) ON ch.id = pr.account_id
     WHERE pr.kind = 'contract'
       AND (pr.product_id = prod.id OR (pr.product_id IS NULL AND pr.product_group_id = prod.product_group_id))
       AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
       AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
       AND (pr.discount_bp IS NOT NULL OR pr.currency::text = w)
     ORDER BY ch.depth, (pr.product_id IS NULL), pr.id LIMIT 1;
    IF FOUND THEN
        n := CASE WHEN r.discount_bp IS NOT NULL
                  THEN b2b_round_div(list_price * (10000 - r.discount_bp), 10000)
                  ELSE r.price_minor END;
    ELSE
        n := list_price;
        -- 2. tier of the nearest price list: sku, then group, then all products
        SELECT a.price_list_id INTO pl
          FROM unnest(chain_ids) WITH ORDINALITY AS ch(id, depth) JOIN accounts a ON a.id = ch.id
         WHERE a.price_list_id IS NOT NULL ORDER BY ch.depth LIMIT 1;
        IF pl IS NOT NULL THEN
            SELECT pr.price_minor, pr.discount_bp INTO r FROM price_rules pr
             WHERE pr.kind = 'tier' AND pr.price_list_id = pl
               AND (pr.product_id = prod.id
                    OR (pr.product_id IS NULL AND pr.product_group_id = prod.product_group_id)
                    OR (pr.product_id IS NULL AND pr.product_group_id IS NULL))
               AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
               AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
               AND (pr.discount_bp IS NOT NULL OR pr.currency::text = w)
             ORDER BY CASE WHEN pr.product_id IS NOT NULL THEN 0
                           WHEN pr.product_group_id IS NOT NULL THEN 1 ELSE 2 END, pr.id
             LIMIT 1;
            IF FOUND THEN
                n := CASE WHEN r.discount_bp IS NOT NULL
                          THEN b2b_round_div(list_price * (10000 - r.discount_bp), 10000)
                          ELSE r.price_minor END;
            END IF;
        END IF;
        -- 3. brackets: product brackets, else group brackets; highest min_qty <= qty, then id
        SELECT pr.price_minor, pr.discount_bp INTO r FROM price_rules pr
         WHERE pr.kind = 'bracket' AND pr.product_id = prod.id AND pr.min_qty <= p_qty
           AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
           AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
           AND (pr.discount_bp IS NOT NULL OR pr.currency::text = w)
         ORDER BY pr.min_qty DESC, pr.id LIMIT 1;
        IF NOT FOUND AND prod.product_group_id IS NOT NULL THEN
            SELECT pr.price_minor, pr.discount_bp INTO r FROM price_rules pr
             WHERE pr.kind = 'bracket' AND pr.product_id IS NULL
               AND pr.product_group_id = prod.product_group_id AND pr.min_qty <= p_qty
               AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
               AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
               AND (pr.discount_bp IS NOT NULL OR pr.currency::text = w)
             ORDER BY pr.min_qty DESC, pr.id LIMIT 1;
        END IF;
        IF FOUND THEN
            n := CASE WHEN r.discount_bp IS NOT NULL
                      THEN b2b_round_div(n * (10000 - r.discount_bp), 10000)
                      ELSE r.price_minor END;
        END IF;
    END IF;

    -- 5. promo: product-scoped, then group-scoped, then unscoped, then id
    u := n;
    IF coalesce(p_promo_code, '') <> '' THEN
        SELECT pr.discount_bp, pr.amount_off_minor, pr.stackable INTO r FROM price_rules pr
         WHERE pr.kind = 'promo' AND pr.promo_code = p_promo_code
           AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
           AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
           AND (pr.min_qty IS NULL OR pr.min_qty <= p_qty)
           AND (pr.account_id IS NULL OR pr.account_id = ANY (chain_ids))
           AND (pr.product_id IS NULL OR pr.product_id = prod.id)
           AND (pr.product_group_id IS NULL OR pr.product_group_id = prod.product_group_id)
           AND (pr.amount_off_minor IS NULL OR pr.currency::text = w)
         ORDER BY CASE WHEN pr.product_id IS NOT NULL THEN 0
                       WHEN pr.product_group_id IS NOT NULL THEN 1 ELSE 2 END, pr.id
         LIMIT 1;
        IF FOUND THEN
            p := CASE WHEN r.stackable THEN n ELSE list_price END;
            p := CASE WHEN r.discount_bp IS NOT NULL
                      THEN b2b_round_div(p * (10000 - r.discount_bp), 10000)
                      ELSE greatest(p - r.amount_off_minor, 0) END;
            IF r.stackable OR p < n THEN
                u := p;
            END IF;
        END IF;
    END IF;

    -- 6. conversion of the final unit price
    IF w <> k THEN
        u := b2b_round_div(u * fx_rate * (10::numeric ^ kd), 1000000 * (10::numeric ^ wd));
        IF u > max_minor THEN
            RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                                NULL::text, 'overflow'::text;
            RETURN;
        END IF;
    END IF;

    -- 7. line and tax: region beats country, class beats every-class, then id
    net := u * p_qty;
    IF net > max_minor THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'overflow'::text;
        RETURN;
    END IF;
    IF NOT acc.tax_exempt AND acc.country IS NOT NULL THEN
        SELECT pr.rate_bp INTO r FROM price_rules pr
         WHERE pr.kind = 'tax' AND pr.country::text = acc.country
           AND (pr.valid_from IS NULL OR pr.valid_from <= p_as_of)
           AND (pr.valid_to IS NULL OR p_as_of < pr.valid_to)
           AND (pr.region IS NULL OR pr.region = acc.region)
           AND (pr.tax_class IS NULL OR pr.tax_class = prod.tax_class)
         ORDER BY (pr.region IS NOT NULL) DESC, (pr.tax_class IS NOT NULL) DESC, pr.id LIMIT 1;
        IF FOUND THEN
            tax := b2b_round_div(net * r.rate_bp, 10000);
        END IF;
    END IF;
    gross := net + tax;
    IF gross > max_minor THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
                            'overflow'::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT u::bigint, net::bigint, tax::bigint, gross::bigint, k, NULL::text;
END
$$;

COMMENT ON FUNCTION b2b_price_reference(text, text, integer, text, text, timestamptz) IS
    'Reference resolver: same semantics as the compiled engine (modules/pricing/b2b_resolve.c).';
