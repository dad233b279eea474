/*
 * b2b_catalog_bench.c: GET /_bench/catalog-naive, the baseline of the catalog
 * benchmark (bench/catalog): the same page of cards built the way a portal
 * without read models and caches would, on every request, in one statement:
 * products joined with categories (the path walked recursively), product
 * groups, the account's access rules (decided per product, skipped when the
 * account has none) and stock, sorted, counted, and each
 * card priced by the SQL reference resolver (b2b_price_reference,
 * sql/050). Only with B2BDiagnostics On, like the other ceilings and
 * baselines. Its statement is prepared on first use on each connection, not
 * by mod_dbd when the connection opens: a database where it cannot be
 * prepared (no sql/050) answers this route 503 and keeps its pool.
 */
#include "b2b_catalog.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_NAIVE \
    "WITH RECURSIVE acct AS (SELECT id FROM accounts WHERE code = %s), " \
    "cat (id, ids, path, depth) AS ( " \
    "  SELECT c.id, ARRAY[c.id], jsonb_build_array(jsonb_build_object('code', c.code, 'name', c.name)), 1 " \
    "    FROM categories c WHERE c.parent_id IS NULL " \
    "  UNION ALL " \
    "  SELECT c.id, p.ids || c.id, p.path || jsonb_build_object('code', c.code, 'name', c.name), p.depth + 1 " \
    "    FROM categories c JOIN cat p ON c.parent_id = p.id), " \
    "rules AS (SELECT r.category_id, r.product_group_id, r.effect = 'deny' AS deny, ac.depth " \
    "            FROM account_closure ac JOIN catalog_access_rules r ON r.account_id = ac.ancestor_id " \
    "           WHERE ac.descendant_id = (SELECT id FROM acct)), " \
    "visible AS ( " \
    "  SELECT p.id, p.sku, p.name, p.attributes, p.unit, p.allow_backorder, c.code AS category, " \
    "         c.name AS category_name, cat.path, g.code AS grp " \
    "    FROM products p JOIN categories c ON c.id = p.category_id JOIN cat ON cat.id = p.category_id " \
    "    LEFT JOIN product_groups g ON g.id = p.product_group_id " \
    "   WHERE p.active AND ((SELECT NOT EXISTS (SELECT 1 FROM rules)) OR NOT coalesce(( " \
    "     SELECT r.deny FROM rules r LEFT JOIN cat rc ON rc.id = r.category_id " \
    "      WHERE (r.category_id IS NULL AND r.product_group_id IS NULL) " \
    "         OR r.category_id = ANY (cat.ids) OR r.product_group_id = p.product_group_id " \
    "      ORDER BY r.depth, CASE WHEN r.product_group_id IS NOT NULL THEN 1000 " \
    "                             WHEN r.category_id IS NOT NULL THEN rc.depth ELSE 0 END DESC, " \
    "               r.deny DESC LIMIT 1), false))), " \
    "page AS (SELECT * FROM visible ORDER BY lower(name), sku LIMIT %s::integer OFFSET %s::integer) " \
    "SELECT json_build_object( " \
    "  'items', coalesce((SELECT json_agg(json_build_object( " \
    "      'sku', pg.sku, 'name', pg.name, 'category', pg.category, " \
    "      'category_name', pg.category_name, 'category_path', pg.path, " \
    "      'product_group', pg.grp, 'unit', pg.unit, 'attributes', pg.attributes, " \
    "      'allow_backorder', pg.allow_backorder, " \
    "      'price', CASE WHEN coalesce(pr.error, '') = '' THEN json_build_object( " \
    "          'amount', round(pr.unit_minor::numeric / power(10::numeric, cur.minor_digits), cur.minor_digits)::text, " \
    "          'currency', pr.currency) END, " \
    "      'availability', json_build_object('available', " \
    "          greatest(coalesce(s.on_hand - s.reserved, 0), 0), 'as_of', now())) " \
    "      ORDER BY lower(pg.name), pg.sku) " \
    "    FROM page pg LEFT JOIN stock s ON s.product_id = pg.id " \
    "    CROSS JOIN LATERAL b2b_price_reference(%s, pg.sku, 1, NULL, NULL, now()) pr " \
    "    LEFT JOIN currencies cur ON cur.code = pr.currency), '[]'::json), " \
    "  'page', %s::integer, 'per_page', %s::integer, " \
    "  'total', (SELECT count(*) FROM visible))::text"

static int handle_naive(b2b_req_t *req)
{
    request_rec *r = req->r;
    b2b_cq_params_t *p = apr_palloc(r->pool, sizeof(*p));
    b2b_cq_error_t err;
    ap_dbd_t *dbd;
    apr_array_header_t *rows;
    const char *args[6], *body;

    if (b2b_server_conf(r->server)->diagnostics != 1) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
    }
    if (b2b_cq_parse_list(r->args, p, &err) != 0) {
        return b2b_reply_error(r, err.status, err.code, "%s", err.message);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    args[0] = req->acting->code;
    args[1] = apr_psprintf(r->pool, "%ld", p->per_page);
    args[2] = apr_psprintf(r->pool, "%ld", (p->page - 1) * p->per_page);
    args[3] = req->acting->code;
    args[4] = apr_psprintf(r->pool, "%ld", p->page);
    args[5] = args[1];
    if (!apr_hash_get(dbd->prepared, "b2b_catalog_naive", APR_HASH_KEY_STRING)) {
        apr_dbd_prepared_t *st = NULL;
        /* the connection serves one request at a time: its hash is ours now */
        if (apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, SQL_NAIVE,
                            "b2b_catalog_naive", &st) != 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(04050)
                          "catalog: cannot prepare the naive benchmark query: %s",
                          apr_dbd_error(dbd->driver, dbd->handle, 1));
            return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                                   "The naive catalog query cannot be prepared.");
        }
        apr_hash_set(dbd->prepared, "b2b_catalog_naive", APR_HASH_KEY_STRING, st);
    }
    rows = b2b_db_select(r, dbd, "b2b_catalog_naive", 6, args, NULL);
    if (!rows || rows->nelts != 1) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The naive catalog query failed; see the error log.");
    }
    body = APR_ARRAY_IDX(rows, 0, const char **)[0];
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-cache");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}

void b2b_catalog_bench_register(void)
{
    b2b_route_add("GET", "/_bench/catalog-naive", handle_naive, 0);
}
