-- 020_catalog_read_model: the catalog's read model. One row per product card
-- (content, category path, access key, bracket quantities, search vector),
-- kept current by triggers that refresh exactly the rows a change touches,
-- plus the versions the storefront caches are keyed on and the functions the
-- catalog endpoints call. Run by scripts/migrate.sh inside one transaction.
--
-- Who reads what:
--   catalog_cards           GET /catalog/products[/{sku}], /catalog/categories
--   catalog_state           versions: `version` rises on every card change,
--                           `access_version` on every change that can alter who
--                           sees what (access rules, account or category tree)
--   catalog_changes         which SKUs changed at which version (the worker
--                           turns them into precise cache invalidations)
--   catalog_heartbeat       written by the worker on the primary; on a read
--                           replica its age is the replication lag
-- Stock is deliberately not in the read model: it changes far more often than
-- content and is read live (bounded by B2BInventoryMaxAge).

-- Versions --------------------------------------------------------------------

CREATE TABLE catalog_state (
    id             integer PRIMARY KEY CONSTRAINT catalog_state_single_row CHECK (id = 1),
    version        bigint NOT NULL DEFAULT 1,
    access_version bigint NOT NULL DEFAULT 1,
    changed_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO catalog_state (id) VALUES (1);

-- sku NULL: "everything may have changed" (a bulk change or a truncate).
CREATE TABLE catalog_changes (
    version    bigint NOT NULL,
    sku        text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_changes_version_idx ON catalog_changes (version);

CREATE TABLE catalog_heartbeat (
    id integer PRIMARY KEY CONSTRAINT catalog_heartbeat_single_row CHECK (id = 1),
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO catalog_heartbeat (id) VALUES (1);

-- The read model ----------------------------------------------------------------

CREATE TABLE catalog_cards (
    product_id         bigint PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    sku                text NOT NULL,
    -- SKU without punctuation, upper case: "sku 00042" and "SKU00042" find SKU-00042
    sku_compact        text NOT NULL,
    name               text NOT NULL,
    name_sort          text NOT NULL,
    category_id        bigint NOT NULL,
    -- the category and its ancestors, root first: the category filter takes
    -- subcategories with one GIN lookup
    category_ids       bigint[] NOT NULL,
    product_group_id   bigint,
    -- "<category id>:<product group id or 0>": what catalog access rules decide on
    access_key         text NOT NULL,
    -- "min_qty:valid_from:valid_to;..." (unix seconds, empty = open) of every
    -- bracket rule on the product or its group; prices come from the pricing service
    brackets           text NOT NULL DEFAULT '',
    card_json          text NOT NULL,     -- the list card, without price and availability
    detail_json        text NOT NULL,     -- the detail page, without prices and availability
    search             tsvector NOT NULL,
    digest             text NOT NULL,     -- md5 of the card's sources: unchanged rows are not rewritten
    version            bigint NOT NULL,   -- catalog_state.version of the last change
    product_created_at timestamptz NOT NULL,
    refreshed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_cards_sku_idx ON catalog_cards (sku);
CREATE INDEX catalog_cards_search_idx ON catalog_cards USING gin (search);
CREATE INDEX catalog_cards_category_ids_idx ON catalog_cards USING gin (category_ids);
CREATE INDEX catalog_cards_name_idx ON catalog_cards (name_sort, sku);
CREATE INDEX catalog_cards_created_idx ON catalog_cards (product_created_at DESC, sku);
CREATE INDEX catalog_cards_group_idx ON catalog_cards (product_group_id) WHERE product_group_id IS NOT NULL;
CREATE INDEX catalog_cards_sku_compact_idx ON catalog_cards (sku_compact);
-- counts of what an account sees: an index-only scan
CREATE INDEX catalog_cards_access_idx ON catalog_cards (access_key);

-- Version bumps and the change log ---------------------------------------------

-- Raises one of the versions; returns catalog_state.version after it.
CREATE FUNCTION b2b_catalog_bump(p_access boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    IF p_access THEN
        UPDATE catalog_state SET access_version = access_version + 1, changed_at = now()
         WHERE id = 1 RETURNING version INTO v;
    ELSE
        UPDATE catalog_state SET version = version + 1, changed_at = now()
         WHERE id = 1 RETURNING version INTO v;
    END IF;
    IF v IS NULL THEN   -- the row was removed by hand: put it back
        INSERT INTO catalog_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
        v := 1;
    END IF;
    RETURN v;
END $$;

-- The content version of this transaction's card changes: raised once per
-- transaction, however many cards and statements it touches. (The row lock
-- on catalog_state orders the versions as the transactions commit.)
CREATE FUNCTION b2b_catalog_tx_version() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v text := current_setting('b2b.catalog_tx_version', true);
BEGIN
    IF v IS NOT NULL AND v <> '' THEN
        RETURN v::bigint;
    END IF;
    v := b2b_catalog_bump(false)::text;
    PERFORM set_config('b2b.catalog_tx_version', v, true);   -- until commit
    RETURN v::bigint;
END $$;

-- Logs changed SKUs under this transaction's version; many at once (a bulk
-- load) become one "everything" row.
CREATE FUNCTION b2b_catalog_log(p_skus text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_skus IS NULL OR cardinality(p_skus) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_skus) > 500 THEN
        INSERT INTO catalog_changes (version, sku) VALUES (b2b_catalog_tx_version(), NULL);
    ELSE
        INSERT INTO catalog_changes (version, sku)
        SELECT b2b_catalog_tx_version(), x FROM unnest(p_skus) AS x;
    END IF;
END $$;

-- Cards removed by a cascade (a deleted product) or a truncate. Writes and
-- removals by b2b_catalog_refresh log themselves.
CREATE FUNCTION b2b_catalog_card_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO catalog_changes (version, sku) VALUES (b2b_catalog_tx_version(), NULL);
    ELSE
        INSERT INTO catalog_changes (version, sku) VALUES (b2b_catalog_tx_version(), OLD.sku);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER catalog_cards_deleted AFTER DELETE ON catalog_cards
    FOR EACH ROW EXECUTE FUNCTION b2b_catalog_card_removed();
CREATE TRIGGER catalog_cards_truncated AFTER TRUNCATE ON catalog_cards
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_card_removed();

-- Upper-case letters and digits only.
CREATE FUNCTION b2b_catalog_compact(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT upper(regexp_replace(s, '[^[:alnum:]]', '', 'g'))
$$;

-- Recomputes the cards of the given products (NULL: all of them): inserts new
-- ones, rewrites changed ones (digest differs), removes cards of products that
-- are gone or inactive. Returns the number of cards written or removed.
CREATE FUNCTION b2b_catalog_refresh(p_ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_written integer;
    v_removed integer;
    v_skus    text[];
BEGIN
    IF p_ids IS NOT NULL AND cardinality(p_ids) = 0 THEN
        RETURN 0;
    END IF;
    WITH RECURSIVE cat (id, ids, path, names) AS (
        SELECT c.id, ARRAY[c.id], jsonb_build_array(jsonb_build_object('code', c.code, 'name', c.name)),
               c.name
          FROM categories c WHERE c.parent_id IS NULL
        UNION ALL
        SELECT c.id, p.ids || c.id, p.path || jsonb_build_object('code', c.code, 'name', c.name),
               p.names || ' ' || c.name
          FROM categories c JOIN cat p ON c.parent_id = p.id
    ),
    bracket_rules AS MATERIALIZED (
        SELECT r.id, r.product_id, r.product_group_id, r.min_qty,
               coalesce(floor(extract(epoch FROM r.valid_from))::bigint::text, '') AS vf,
               coalesce(ceil(extract(epoch FROM r.valid_to))::bigint::text, '') AS vt
          FROM price_rules r
         WHERE r.kind = 'bracket'
    ),
    src AS (
        SELECT p.id, p.sku, p.name, p.description, p.category_id, p.product_group_id,
               p.tax_class, p.attributes, p.unit, p.allow_backorder, p.created_at,
               c.code AS category_code, c.name AS category_name, cat.ids AS category_ids,
               cat.path AS category_path, cat.names AS category_names,
               g.code AS group_code, g.name AS group_name,
               coalesce(b.brackets, '') AS brackets,
               p.category_id || ':' || coalesce(p.product_group_id, 0) AS access_key
          FROM products p
          JOIN categories c ON c.id = p.category_id
          JOIN cat ON cat.id = p.category_id
          LEFT JOIN product_groups g ON g.id = p.product_group_id
          LEFT JOIN LATERAL (
              SELECT string_agg(r.min_qty || ':' || r.vf || ':' || r.vt, ';' ORDER BY r.min_qty, r.id) AS brackets
                FROM bracket_rules r
               WHERE r.product_id = p.id OR r.product_group_id = p.product_group_id
          ) b ON true
         WHERE p.active AND (p_ids IS NULL OR p.id = ANY (p_ids))
    ),
    -- Everything a card is made of, hashed as a row (cheap): only the cards
    -- whose sources changed are rebuilt below (JSON and search vector are
    -- the costly part).
    todo AS (
        SELECT s.*,
               md5(ROW(s.sku, s.name, s.description, s.category_id, s.product_group_id,
                       s.tax_class, s.attributes, s.unit, s.allow_backorder, s.created_at,
                       s.category_code, s.category_name, s.category_ids, s.category_path,
                       s.group_code, s.group_name, s.brackets)::text) AS digest
          FROM src s
    ),
    changed AS (
        SELECT t.*, cc.sku AS old_sku FROM todo t
          LEFT JOIN catalog_cards cc ON cc.product_id = t.id
         WHERE cc.digest IS DISTINCT FROM t.digest
    ),
    written AS (
    INSERT INTO catalog_cards AS cc (product_id, sku, sku_compact, name, name_sort, category_id,
                                     category_ids, product_group_id, access_key, brackets,
                                     card_json, detail_json, search, digest, version,
                                     product_created_at, refreshed_at)
    SELECT f.id, f.sku, b2b_catalog_compact(f.sku), f.name, lower(f.name), f.category_id,
           f.category_ids, f.product_group_id, f.access_key, f.brackets,
           j.card::text,
           (j.card || jsonb_build_object('description', f.description,
                                         'tax_class', f.tax_class))::text,
           setweight(to_tsvector('simple', f.sku), 'A')
             -- (with a position: a lexeme without one breaks prefix phrase matches)
             || setweight(to_tsvector('simple', b2b_catalog_compact(f.sku)), 'A')
             || setweight(to_tsvector('english', f.name), 'A')
             || setweight(to_tsvector('english', f.category_names), 'B')
             || setweight(to_tsvector('english', coalesce(f.group_name, '')), 'C')
             || setweight(jsonb_to_tsvector('english', f.attributes, '["string", "numeric"]'), 'C')
             || setweight(to_tsvector('english', coalesce(f.description, '')), 'D'),
           f.digest, b2b_catalog_tx_version(), f.created_at, now()
      FROM changed f
     CROSS JOIN LATERAL (
         SELECT jsonb_build_object(
                    'sku', f.sku, 'name', f.name, 'category', f.category_code,
                    'category_name', f.category_name, 'category_path', f.category_path,
                    'product_group', f.group_code, 'unit', f.unit,
                    'attributes', f.attributes, 'allow_backorder', f.allow_backorder) AS card
     ) j
    ON CONFLICT (product_id) DO UPDATE
       SET sku = EXCLUDED.sku, sku_compact = EXCLUDED.sku_compact, name = EXCLUDED.name,
           name_sort = EXCLUDED.name_sort, category_id = EXCLUDED.category_id,
           category_ids = EXCLUDED.category_ids, product_group_id = EXCLUDED.product_group_id,
           access_key = EXCLUDED.access_key, brackets = EXCLUDED.brackets,
           card_json = EXCLUDED.card_json, detail_json = EXCLUDED.detail_json,
           search = EXCLUDED.search, digest = EXCLUDED.digest, version = EXCLUDED.version,
           product_created_at = EXCLUDED.product_created_at, refreshed_at = EXCLUDED.refreshed_at
    RETURNING 1
    )
    -- the old SKU too: a renamed SKU's cache entry must go
    SELECT (SELECT count(*) FROM written),
           ARRAY(SELECT c.sku FROM changed c UNION
                 SELECT c.old_sku FROM changed c WHERE c.old_sku IS NOT NULL)
      INTO v_written, v_skus;
    PERFORM b2b_catalog_log(v_skus);

    -- (the delete trigger logs these)
    DELETE FROM catalog_cards cc
     WHERE (p_ids IS NULL OR cc.product_id = ANY (p_ids))
       AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = cc.product_id AND p.active);
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN v_written + v_removed;
END $$;

-- The hook scripts/load-demo.sh calls after a bulk load.
CREATE FUNCTION b2b_refresh_read_models() RETURNS integer
LANGUAGE sql AS $$
    SELECT b2b_catalog_refresh(NULL)
$$;

-- Precise refresh: each source table refreshes the cards it feeds ---------------

-- products: the rows the statement inserted or updated (deletes cascade).
CREATE FUNCTION b2b_catalog_products_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b2b_catalog_refresh(ARRAY(SELECT id FROM changed_products));
    RETURN NULL;
END $$;
CREATE TRIGGER products_catalog_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS changed_products
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_products_changed();
CREATE TRIGGER products_catalog_updated AFTER UPDATE ON products
    REFERENCING NEW TABLE AS changed_products
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_products_changed();

-- categories: a rename or a move changes the cards below the category (their
-- path and search text); a move also changes what access rules cover.
CREATE FUNCTION b2b_catalog_categories_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b2b_catalog_bump(true);
    IF TG_OP = 'UPDATE' THEN
        PERFORM b2b_catalog_refresh(ARRAY(
            SELECT cc.product_id FROM catalog_cards cc
             WHERE cc.category_ids && ARRAY(SELECT id FROM changed_categories)));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER categories_catalog_updated AFTER UPDATE ON categories
    REFERENCING NEW TABLE AS changed_categories
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_categories_changed();
CREATE TRIGGER categories_catalog_inserted AFTER INSERT OR DELETE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_categories_changed();

-- product_groups: the group's code and name are on its cards.
CREATE FUNCTION b2b_catalog_groups_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b2b_catalog_refresh(ARRAY(
        SELECT cc.product_id FROM catalog_cards cc
         WHERE cc.product_group_id IN (SELECT id FROM changed_groups)));
    RETURN NULL;
END $$;
CREATE TRIGGER product_groups_catalog_updated AFTER UPDATE ON product_groups
    REFERENCING NEW TABLE AS changed_groups
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_groups_changed();

-- price_rules: only bracket rules matter here (their quantities are on the
-- card; the prices themselves come from the pricing service). Row triggers
-- with a WHEN clause: a bulk load of a million contracts never calls them.
CREATE FUNCTION b2b_catalog_bracket_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.kind = 'bracket' THEN
        PERFORM b2b_catalog_refresh(ARRAY(
            SELECT p.id FROM products p
             WHERE p.id = OLD.product_id OR p.product_group_id = OLD.product_group_id));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 'bracket' THEN
        PERFORM b2b_catalog_refresh(ARRAY(
            SELECT p.id FROM products p
             WHERE p.id = NEW.product_id OR p.product_group_id = NEW.product_group_id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER price_rules_catalog_inserted AFTER INSERT ON price_rules
    FOR EACH ROW WHEN (NEW.kind = 'bracket')
    EXECUTE FUNCTION b2b_catalog_bracket_changed();
CREATE TRIGGER price_rules_catalog_updated AFTER UPDATE ON price_rules
    FOR EACH ROW WHEN (OLD.kind = 'bracket' OR NEW.kind = 'bracket')
    EXECUTE FUNCTION b2b_catalog_bracket_changed();
CREATE TRIGGER price_rules_catalog_deleted AFTER DELETE ON price_rules
    FOR EACH ROW WHEN (OLD.kind = 'bracket')
    EXECUTE FUNCTION b2b_catalog_bracket_changed();
-- TRUNCATE price_rules: every bracket is gone.
CREATE FUNCTION b2b_catalog_brackets_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b2b_catalog_refresh(ARRAY(SELECT product_id FROM catalog_cards WHERE brackets <> ''));
    RETURN NULL;
END $$;
CREATE TRIGGER price_rules_catalog_truncated AFTER TRUNCATE ON price_rules
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_brackets_truncated();

-- Who sees what: access rules and the account tree.
CREATE FUNCTION b2b_catalog_access_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM b2b_catalog_bump(true);
    RETURN NULL;
END $$;
CREATE TRIGGER catalog_access_rules_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON catalog_access_rules
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_access_changed();
CREATE TRIGGER account_closure_catalog_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_closure
    FOR EACH STATEMENT EXECUTE FUNCTION b2b_catalog_access_changed();

-- Catalog access along the account tree ------------------------------------------
--
-- The rules of the account and of its ancestors apply; for one product the
-- rules that cover it are ranked and the first decides:
--   1. the nearest account wins (the account itself, then its parent, ...);
--   2. at the same account the most specific scope wins: a product-group rule,
--      then a category rule (a subcategory before its parent category), then
--      a whole-catalog rule (no category, no group);
--   3. at the same account and specificity, deny beats allow.
-- No rule: visible. The answer depends only on (category, product group), so
-- it is computed once per account for every such pair and handed out as the
-- list of hidden access keys ("<category id>:<group id or 0>").
CREATE FUNCTION b2b_catalog_hidden_keys(p_account bigint) RETURNS text[]
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE rules AS MATERIALIZED (
        SELECT r.category_id, r.product_group_id, r.effect = 'deny' AS deny, ac.depth
          FROM account_closure ac
          JOIN catalog_access_rules r ON r.account_id = ac.ancestor_id
         WHERE ac.descendant_id = p_account
    ),
    cat (id, ids, depth) AS (
        SELECT c.id, ARRAY[c.id], 1 FROM categories c WHERE c.parent_id IS NULL
        UNION ALL
        SELECT c.id, p.ids || c.id, p.depth + 1 FROM categories c JOIN cat p ON c.parent_id = p.id
    ),
    pairs AS (
        SELECT cat.id AS category_id, cat.ids, g.id AS group_id
          FROM cat
         CROSS JOIN (SELECT id FROM product_groups UNION ALL SELECT NULL::bigint) g
         WHERE EXISTS (SELECT 1 FROM rules)
    )
    SELECT coalesce(array_agg(p.category_id || ':' || coalesce(p.group_id, 0)
                              ORDER BY p.category_id, p.group_id), '{}')
      FROM pairs p
     WHERE coalesce((
               SELECT r.deny
                 FROM rules r
                 LEFT JOIN cat rc ON rc.id = r.category_id
                WHERE (r.category_id IS NULL AND r.product_group_id IS NULL)
                   OR r.category_id = ANY (p.ids)
                   OR r.product_group_id = p.group_id
                ORDER BY r.depth,
                         CASE WHEN r.product_group_id IS NOT NULL THEN 1000
                              WHEN r.category_id IS NOT NULL THEN rc.depth
                              ELSE 0 END DESC,
                         r.deny DESC
                LIMIT 1), false)
$$;

-- For other modules (quote, cart): may this account see this product?
-- Unknown or inactive products are not visible.
CREATE FUNCTION b2b_catalog_visible(p_account bigint, p_product bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM catalog_cards cc
         WHERE cc.product_id = p_product
           AND NOT (cc.access_key = ANY (b2b_catalog_hidden_keys(p_account))))
$$;

-- What the endpoints call -------------------------------------------------------------

-- Text search query from the text the storefront builds (quoted words with
-- prefix markers, see modules/catalog/b2b_catalog_query.c). A query that
-- normalises to nothing (only stop words) or does not parse matches nothing.
CREATE FUNCTION b2b_catalog_tsquery(p_text text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE STRICT SET client_min_messages = warning AS $$
BEGIN
    IF p_text = '' THEN
        RETURN NULL;
    END IF;
    RETURN to_tsquery('english', p_text);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- One page of cards. Every value from the request arrives as a parameter;
-- the dynamic part of the statement is only the ORDER BY picked from a
-- fixed list and the search condition, so each call is planned for its own
-- filters: an unfiltered page by name is a walk of the name index that stops
-- after the page, a search a GIN lookup.
--   p_hidden   hidden access keys (b2b_catalog_hidden_keys)
--   p_tsquery  text for b2b_catalog_tsquery ('' = no text search)
--   p_q        the query as typed, whitespace-normalised ('' = none): exact
--              SKU and exact name matches rank first
--   p_category a category id (its subcategories included) or NULL
--   p_sort     relevance | name | -name | sku | -sku | newest
--   p_total    whether to count the matching cards (the caller may know it)
-- Rows: the page's cards, each with the total (NULL if not asked for) and
-- the catalog version read; an empty page returns one row with product_id
-- NULL.
CREATE FUNCTION b2b_catalog_page(p_hidden text[], p_tsquery text, p_q text, p_category bigint,
                                 p_sort text, p_limit integer, p_offset integer,
                                 p_total boolean)
RETURNS TABLE (product_id bigint, sku text, card_json text, total bigint, version bigint)
LANGUAGE plpgsql STABLE SET client_min_messages = warning AS $$
DECLARE
    v_tsq     tsquery;
    v_version bigint;
    v_order   text;
    v_rank    text := '';
    v_match   text := '';
    v_upper   text := '';
    v_compact text := '';
    v_total   bigint;
    v_n       bigint;
BEGIN
    SELECT s.version INTO v_version FROM catalog_state s WHERE s.id = 1;
    IF p_q <> '' THEN
        v_tsq := b2b_catalog_tsquery(p_tsquery);
        v_upper := upper(p_q);
        v_compact := b2b_catalog_compact(p_q);
        v_match := 'AND (c.search @@ $2 OR c.sku = $7 OR c.sku_compact = $8)';
        v_rank := '(CASE WHEN c.sku = $7 OR c.sku_compact = $8 THEN 1000 ELSE 0 END'
               || ' + CASE WHEN c.name_sort = lower($3) THEN 500 ELSE 0 END'
               || ' + CASE WHEN starts_with(c.name_sort, lower($3)) THEN 50 ELSE 0 END'
               || ' + coalesce(ts_rank(c.search, $2, 1), 0) * 10) DESC, ';
    END IF;
    v_order := CASE p_sort
        WHEN 'relevance' THEN v_rank || 'c.name_sort, c.sku'
        WHEN 'name'      THEN 'c.name_sort, c.sku'
        WHEN '-name'     THEN 'c.name_sort DESC, c.sku DESC'
        WHEN 'sku'       THEN 'c.sku'
        WHEN '-sku'      THEN 'c.sku DESC'
        WHEN 'newest'    THEN 'c.product_created_at DESC, c.sku'
    END;
    IF v_order IS NULL THEN
        RAISE EXCEPTION 'unknown sort order' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_total THEN
        EXECUTE format(
            'SELECT count(*) FROM catalog_cards c
              WHERE NOT (c.access_key = ANY ($1))
                AND ($4 IS NULL OR c.category_ids @> ARRAY[$4]) %s', v_match)
            INTO v_total USING p_hidden, v_tsq, p_q, p_category, NULL, NULL, v_upper, v_compact;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT c.product_id, c.sku, c.card_json, $9, $10
           FROM catalog_cards c
          WHERE NOT (c.access_key = ANY ($1))
            AND ($4 IS NULL OR c.category_ids @> ARRAY[$4]) %s
          ORDER BY %s LIMIT $5 OFFSET $6', v_match, v_order)
        USING p_hidden, v_tsq, p_q, p_category, p_limit, p_offset, v_upper, v_compact,
              v_total, v_version;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
        product_id := NULL; sku := NULL; card_json := NULL;
        total := v_total; version := v_version;
        RETURN NEXT;
    END IF;
END $$;

-- Visible products per category (not rolled up: the caller builds the tree).
CREATE FUNCTION b2b_catalog_category_counts(p_hidden text[])
RETURNS TABLE (id bigint, code text, name text, parent_id bigint, sort integer,
               products bigint, version bigint, access_version bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.code, c.name, c.parent_id, c.sort, coalesce(n.products, 0),
           s.version, s.access_version
      FROM categories c
      CROSS JOIN catalog_state s
      LEFT JOIN (SELECT cc.category_id, count(*) AS products
                   FROM catalog_cards cc
                  WHERE NOT (cc.access_key = ANY (p_hidden))
                  GROUP BY cc.category_id) n ON n.category_id = c.id
     WHERE s.id = 1
     ORDER BY c.parent_id NULLS FIRST, c.sort, c.name, c.id
$$;

-- Stock for some products (0 when a product has no stock row), with the time it is known to be true: now on the
-- primary; on a replica the last heartbeat it has replayed (never newer than
-- what it really has).
CREATE FUNCTION b2b_catalog_stock(p_ids bigint[])
RETURNS TABLE (product_id bigint, available bigint, as_of_us bigint)
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT CASE WHEN pg_is_in_recovery()
                    THEN (SELECT h.at FROM catalog_heartbeat h WHERE h.id = 1)
                    ELSE clock_timestamp() END AS at
    )
    SELECT i.id, coalesce(greatest(s.on_hand - s.reserved, 0), 0)::bigint,
           (extract(epoch FROM t.at) * 1000000)::bigint
      FROM unnest(p_ids) AS i (id)
     CROSS JOIN t
      LEFT JOIN stock s ON s.product_id = i.id
$$;

-- Cards for the products that exist now.
SELECT b2b_catalog_refresh(NULL);
