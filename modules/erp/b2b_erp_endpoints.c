/*
 * b2b_erp_endpoints.c: the HTTP side of the ERP integration.
 *
 *   portal operators (admin)
 *     GET  /admin/queue[?state=&order=&page=&per_page=]   outbox entries
 *     GET  /admin/queue/{id}                               one entry, its attempts
 *     POST /admin/queue/{id}/retry                         a dead letter, again
 *     GET  /admin/stock/reconciliation[?all=1&page=&per_page=]
 *   the ERP (integration user)
 *     POST /erp/stock                  [{"sku","on_hand","as_of"}]
 *     POST /erp/orders/{id}/status     {"status","erp_ref"?}
 *
 * Every change is one statement (the status report: two, in a transaction,
 * locking the outbox row before the order as the worker does).
 */
#include "b2b_erp_shell.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(b2bportal);

/* ---- SQL ----------------------------------------------------------------------- */

#define ENTRY_COLUMNS \
    "b.id::text, b.order_id::text, b.state, b.attempts::text, coalesce(b.last_error, ''), " \
    B2B_ERP_TS("b.next_attempt_at") ", coalesce(" B2B_ERP_TS("b.lease_until") ", ''), " \
    "coalesce(b.leased_by, ''), b.erp_key, o.status, coalesce(o.erp_ref, ''), " \
    "coalesce(" B2B_ERP_TS("b.delivered_at") ", ''), coalesce(b.delivered_by, ''), " \
    "coalesce(b.last_http_status::text, ''), " B2B_ERP_TS("b.created_at") ", " \
    B2B_ERP_TS("b.updated_at") ", count(*) OVER ()::text " \
    "FROM outbox b JOIN orders o ON o.id = b.order_id "
#define ENTRY_NCOLS 17

#define SQL_QUEUE_LIST "SELECT " ENTRY_COLUMNS \
    "WHERE (%s = '' OR b.state = %s) AND (%s = '' OR b.order_id = nullif(%s, '')::bigint) " \
    "ORDER BY b.id DESC LIMIT %s::int OFFSET %s::int"
#define SQL_QUEUE_COUNTS "SELECT state, count(*)::text FROM outbox GROUP BY state"
#define SQL_QUEUE_GET "SELECT " ENTRY_COLUMNS "WHERE b.id = %s::bigint"
#define SQL_QUEUE_ATTEMPTS \
    "SELECT attempt::text, node, outcome, coalesce(http_status::text, ''), " \
    "coalesce(erp_ref, ''), coalesce(error, ''), duration_ms::text, " B2B_ERP_TS("at") " " \
    "FROM erp_attempts WHERE outbox_id = %s::bigint ORDER BY id DESC LIMIT 100"

/* A dead letter back to the queue, due now, its attempts counted from 0
 * again (erp_attempts keeps them all); the failed order is queued again. */
#define SQL_QUEUE_RETRY \
    "WITH p AS (SELECT %s::bigint AS id, %s::bigint AS uid), " \
    "ob AS (UPDATE outbox b SET state = 'pending', attempts = 0, next_attempt_at = now(), " \
    "  lease_until = NULL FROM p WHERE b.id = p.id AND b.state = 'dead' " \
    "  RETURNING b.id, b.order_id), " \
    "cur AS (SELECT o.id FROM orders o JOIN ob ON o.id = ob.order_id " \
    "  WHERE o.status = 'failed' FOR UPDATE OF o), " \
    "q AS (UPDATE orders o SET status = 'queued' FROM cur WHERE o.id = cur.id RETURNING o.id), " \
    "h AS (INSERT INTO order_history (order_id, status, actor_user_id, note) " \
    "  SELECT q.id, 'queued', p.uid, 'sent to the ERP again by a portal operator' FROM q, p) " \
    "SELECT (SELECT count(*) FROM ob)::text, " \
    "coalesce((SELECT b.state FROM outbox b, p WHERE b.id = p.id), '')"

/* The status report. First the outbox row, as the worker locks it. */
#define SQL_STATUS_LOCK "SELECT id::text FROM outbox WHERE order_id = %s::bigint FOR UPDATE"
#define SQL_STATUS_REPORT \
    "WITH p AS (SELECT %s::bigint AS id, %s::text AS status, %s::text AS erp_ref, " \
    "  %s::bigint AS uid, %s::text[] AS sources), " \
    "cur AS (SELECT o.id, o.status, o.erp_ref FROM orders o, p WHERE o.id = p.id " \
    "  FOR UPDATE OF o), " \
    "upd AS (UPDATE orders o SET status = p.status, " \
    "  erp_ref = coalesce(o.erp_ref, nullif(p.erp_ref, '')) FROM cur, p " \
    "  WHERE o.id = cur.id AND cur.status = ANY (p.sources) " \
    "  AND (p.erp_ref = '' OR cur.erp_ref IS NULL OR cur.erp_ref = p.erp_ref) " \
    "  RETURNING o.id, cur.status AS old), " \
    "hist AS (INSERT INTO order_history (order_id, status, actor_user_id, note) " \
    "  SELECT upd.id, s.status, p.uid, s.note FROM upd CROSS JOIN p CROSS JOIN LATERAL (VALUES " \
    "    (1, 'submitted', 'the ERP reported the order before its delivery was recorded'), " \
    "    (2, p.status, 'reported by the ERP' || coalesce(' (' || nullif(p.erp_ref, '') || ')', ''))) " \
    "    AS s (n, status, note) " \
    "  WHERE s.n = 2 OR upd.old IN ('queued', 'failed') ORDER BY s.n), " \
    "acc AS (SELECT id FROM upd WHERE old IN ('queued', 'failed')), " \
    "ob AS (UPDATE outbox b SET state = 'done', lease_until = NULL, last_error = NULL, " \
    "  delivered_at = coalesce(b.delivered_at, now()), erp_status = p.status FROM acc, p " \
    "  WHERE b.order_id = acc.id AND b.state IN ('pending', 'dead')), " \
    B2B_ERP_SQL_RELEASE("acc") \
    "SELECT cur.status, coalesce(cur.erp_ref, ''), (SELECT count(*) FROM upd)::text FROM cur"

/* Drift: what the portal offers (on_hand - reserved) against what the ERP's
 * level leaves once the reservations it has not seen yet land (orders not
 * accepted by the ERP: pending approval, queued, failed). Zero when the
 * portal follows the ERP and its reserved counter matches its open orders. */
#define RECON_CTE \
    "WITH open AS (SELECT l.product_id, " \
    "  sum(coalesce((to_jsonb(l) ->> 'reserved_qty')::bigint, 0)) AS qty " \
    "  FROM orders o JOIN order_lines l ON l.order_id = o.id " \
    "  WHERE o.status IN ('pending_approval', 'queued', 'failed') GROUP BY l.product_id), " \
    "r AS (SELECT p.sku, e.on_hand AS erp_on_hand, e.as_of, e.source, e.received_at, " \
    "  coalesce(s.on_hand, 0)::bigint AS on_hand, coalesce(s.reserved, 0)::bigint AS reserved, " \
    "  coalesce(open.qty, 0) AS open_qty FROM erp_stock e " \
    "  JOIN products p ON p.id = e.product_id LEFT JOIN stock s ON s.product_id = e.product_id " \
    "  LEFT JOIN open ON open.product_id = e.product_id), " \
    "d AS (SELECT r.*, r.on_hand - r.reserved AS available, r.erp_on_hand - r.open_qty AS expected, " \
    "  (r.on_hand - r.reserved) - (r.erp_on_hand - r.open_qty) AS drift FROM r) "
#define SQL_RECON_LIST RECON_CTE \
    "SELECT sku, erp_on_hand::text, " B2B_ERP_TS("as_of") ", source, on_hand::text, " \
    "reserved::text, open_qty::text, available::text, expected::text, drift::text, " \
    "count(*) OVER ()::text FROM d WHERE %s = '1' OR drift <> 0 " \
    "ORDER BY abs(drift) DESC, sku LIMIT %s::int OFFSET %s::int"
#define SQL_RECON_SUMMARY RECON_CTE \
    "SELECT count(*)::text, count(*) FILTER (WHERE drift <> 0)::text, " \
    "coalesce(sum(abs(drift)), 0)::text, coalesce(" B2B_ERP_TS("max(as_of)") ", ''), " \
    "coalesce(" B2B_ERP_TS("(SELECT last_pull_ok_at FROM erp_sync WHERE id = 1)") ", '') FROM d"

/* ---- helpers -------------------------------------------------------------------- */

/* A positive bigint id in a path segment. */
static int id_ok(const char *s)
{
    char *end;
    apr_int64_t v;
    if (!s || !apr_isdigit(*s) || strlen(s) > 18) {
        return 0;
    }
    v = apr_strtoi64(s, &end, 10);
    return !*end && v > 0;
}

static json_t *opt_text(const char *v)
{
    return v && *v ? json_string(v) : json_null();
}

static json_t *opt_int(const char *v)
{
    return v && *v ? json_integer((json_int_t)apr_atoi64(v)) : json_null();
}

static int printable(const char *s, apr_size_t max)
{
    apr_size_t n = 0;
    for (; *s; s++, n++) {
        if (apr_iscntrl(*s) || n >= max) {
            return 0;
        }
    }
    return n > 0;
}

static json_t *entry_json(const char **c)
{
    return json_pack("{s:I,s:I,s:s,s:I,s:o,s:s,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s}",
        "id", (json_int_t)apr_atoi64(c[0]),
        "order_id", (json_int_t)apr_atoi64(c[1]),
        "state", c[2],
        "attempts", (json_int_t)apr_atoi64(c[3]),
        "last_error", opt_text(c[4]),
        "next_attempt_at", c[5],
        "lease_until", opt_text(c[6]),
        "leased_by", opt_text(c[7]),
        "idempotency_key", c[8],
        "order_status", c[9],
        "erp_ref", opt_text(c[10]),
        "delivered_at", opt_text(c[11]),
        "delivered_by", opt_text(c[12]),
        "last_http_status", opt_int(c[13]),
        "created_at", c[14],
        "updated_at", c[15]);
}

/* ---- GET /admin/queue ------------------------------------------------------------ */

static int handle_queue_list(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *state = b2b_query_arg(r, "state"), *order = b2b_query_arg(r, "order");
    const char *args[6];
    apr_array_header_t *rows, *counts;
    ap_dbd_t *dbd;
    json_t *items, *by_state;
    int page, per_page, i;
    json_int_t total = 0;

    if (b2b_query_int(r, "page", 1, 1, 1000000, &page) != OK
        || b2b_query_int(r, "per_page", 50, 1, 200, &per_page) != OK) {
        return OK;
    }
    if (state && *state && strcmp(state, "pending") && strcmp(state, "in_flight")
        && strcmp(state, "done") && strcmp(state, "dead")) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_parameter",
                               "state must be pending, in_flight, done or dead.");
    }
    if (order && *order && !id_ok(order)) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_parameter",
                               "order must be an order id.");
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    args[0] = args[1] = state ? state : "";
    args[2] = args[3] = order ? order : "";
    args[4] = apr_itoa(r->pool, per_page);
    args[5] = apr_itoa(r->pool, (page - 1) * per_page);
    rows = b2b_db_select(r, dbd, "b2b_erp_queue_list", 6, args, NULL);
    counts = rows ? b2b_db_select(r, dbd, "b2b_erp_queue_counts", 0, NULL, NULL) : NULL;
    if (!rows || !counts) {
        return b2b_reply_db_down(r);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **c = APR_ARRAY_IDX(rows, i, const char **);
        json_array_append_new(items, entry_json(c));
        total = (json_int_t)apr_atoi64(c[ENTRY_NCOLS - 1]);
    }
    by_state = json_pack("{s:i,s:i,s:i,s:i}", "pending", 0, "in_flight", 0, "done", 0,
                         "dead", 0);
    for (i = 0; i < counts->nelts; i++) {
        const char **c = APR_ARRAY_IDX(counts, i, const char **);
        json_object_set_new(by_state, c[0], json_integer((json_int_t)apr_atoi64(c[1])));
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:o,s:i,s:i,s:I,s:o}", "items", items,
                                                "page", page, "per_page", per_page,
                                                "total", total, "counts", by_state));
}

static int reply_entry(b2b_req_t *req, ap_dbd_t *dbd, const char *id, int with_attempts)
{
    request_rec *r = req->r;
    const char *args[1] = { id };
    apr_array_header_t *rows = b2b_db_select(r, dbd, "b2b_erp_queue_get", 1, args, NULL);
    json_t *entry, *attempts;
    int i;

    if (!rows) {
        return b2b_reply_db_down(r);
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "queue_entry_not_found",
                               "No outbox entry %s.", id);
    }
    entry = entry_json(APR_ARRAY_IDX(rows, 0, const char **));
    if (with_attempts) {
        rows = b2b_db_select(r, dbd, "b2b_erp_queue_attempts", 1, args, NULL);
        if (!rows) {
            json_decref(entry);
            return b2b_reply_db_down(r);
        }
        attempts = json_array();
        for (i = 0; i < rows->nelts; i++) {
            const char **c = APR_ARRAY_IDX(rows, i, const char **);
            json_array_append_new(attempts, json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:I,s:s}",
                "attempt", (json_int_t)apr_atoi64(c[0]), "node", c[1], "outcome", c[2],
                "http_status", opt_int(c[3]), "erp_ref", opt_text(c[4]),
                "error", opt_text(c[5]), "duration_ms", (json_int_t)apr_atoi64(c[6]),
                "at", c[7]));
        }
        json_object_set_new(entry, "attempt_log", attempts);
    }
    return b2b_reply_json(r, HTTP_OK, entry);
}

static int handle_queue_get(b2b_req_t *req)
{
    ap_dbd_t *dbd;
    if (!id_ok(req->params[0])) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "queue_entry_not_found",
                               "No such outbox entry.");
    }
    if (!(dbd = b2b_db(req->r))) {
        return b2b_reply_db_down(req->r);
    }
    return reply_entry(req, dbd, req->params[0], 1);
}

/* ---- POST /admin/queue/{id}/retry ------------------------------------------------- */

static int handle_queue_retry(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *args[2];
    apr_array_header_t *rows;
    const char **c;
    ap_dbd_t *dbd;

    if (!id_ok(req->params[0])) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "queue_entry_not_found",
                               "No such outbox entry.");
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    args[0] = req->params[0];
    args[1] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, req->who->user_id);
    rows = b2b_db_select(r, dbd, "b2b_erp_queue_retry", 2, args, NULL);
    if (!rows || rows->nelts != 1) {
        return b2b_reply_db_down(r);
    }
    c = APR_ARRAY_IDX(rows, 0, const char **);
    if (!strcmp(c[0], "0")) {
        if (!*c[1]) {
            return b2b_reply_error(r, HTTP_NOT_FOUND, "queue_entry_not_found",
                                   "No outbox entry %s.", req->params[0]);
        }
        return b2b_reply_error(r, HTTP_CONFLICT, "not_dead",
                               "Outbox entry %s is %s; only a dead letter can be retried.",
                               req->params[0], c[1]);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, B2BLOG(06030)
                  "erp: outbox entry %s sent again by %s", req->params[0],
                  req->who->username);
    return reply_entry(req, dbd, req->params[0], 0);
}

/* ---- GET /admin/stock/reconciliation ---------------------------------------------- */

static int handle_reconciliation(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *all = b2b_query_arg(r, "all"), *args[3];
    apr_array_header_t *rows, *sum;
    const char **s;
    ap_dbd_t *dbd;
    json_t *items;
    int page, per_page, i;
    json_int_t total = 0;

    if (b2b_query_int(r, "page", 1, 1, 1000000, &page) != OK
        || b2b_query_int(r, "per_page", 50, 1, 200, &per_page) != OK) {
        return OK;
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    args[0] = all && (!strcmp(all, "1") || !strcmp(all, "true")) ? "1" : "0";
    args[1] = apr_itoa(r->pool, per_page);
    args[2] = apr_itoa(r->pool, (page - 1) * per_page);
    rows = b2b_db_select(r, dbd, "b2b_erp_recon_list", 3, args, NULL);
    sum = rows ? b2b_db_select(r, dbd, "b2b_erp_recon_summary", 0, NULL, NULL) : NULL;
    if (!rows || !sum || sum->nelts != 1) {
        return b2b_reply_db_down(r);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **c = APR_ARRAY_IDX(rows, i, const char **);
        json_array_append_new(items, json_pack("{s:s,s:{s:I,s:s,s:s},s:{s:I,s:I,s:I},"
                                               "s:I,s:I,s:I}",
            "sku", c[0],
            "erp", "on_hand", (json_int_t)apr_atoi64(c[1]), "as_of", c[2], "source", c[3],
            "portal", "on_hand", (json_int_t)apr_atoi64(c[4]),
                      "reserved", (json_int_t)apr_atoi64(c[5]),
                      "available", (json_int_t)apr_atoi64(c[7]),
            "open_reservations", (json_int_t)apr_atoi64(c[6]),
            "expected_available", (json_int_t)apr_atoi64(c[8]),
            "drift", (json_int_t)apr_atoi64(c[9])));
        total = (json_int_t)apr_atoi64(c[10]);
    }
    s = APR_ARRAY_IDX(sum, 0, const char **);
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:o,s:i,s:i,s:I,s:{s:I,s:I,s:I,s:o,s:o}}",
        "items", items, "page", page, "per_page", per_page, "total", total,
        "summary", "skus_compared", (json_int_t)apr_atoi64(s[0]),
                   "skus_drifting", (json_int_t)apr_atoi64(s[1]),
                   "units_drifting", (json_int_t)apr_atoi64(s[2]),
                   "erp_levels_as_of", opt_text(s[3]),
                   "last_pull_at", opt_text(s[4])));
}

/* ---- POST /erp/stock ---------------------------------------------------------------- */

static int handle_stock_push(b2b_req_t *req)
{
    request_rec *r = req->r;
    json_t *list = req->body, *clean, *item, *unknown;
    apr_array_header_t *rows;
    const char *args[2], **c;
    ap_dbd_t *dbd;
    char *text;
    size_t i;

    if (json_is_object(list) && json_is_array(json_object_get(list, "items"))) {
        list = json_object_get(list, "items");
    }
    if (!json_is_array(list)) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                               "Send [{\"sku\", \"on_hand\", \"as_of\"}, ...].");
    }
    if (json_array_size(list) > 100000) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                               "At most 100000 levels per request.");
    }
    /* Everything is checked before anything is written. */
    clean = b2b_json_pool_own(r->pool, json_array());
    json_array_foreach(list, i, item) {
        json_t *sku = json_object_get(item, "sku"), *on_hand = json_object_get(item, "on_hand");
        const char *as_of = json_string_value(json_object_get(item, "as_of"));
        char when[64];
        if (!json_is_object(item)) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                                   "Item %lu is not an object.", (unsigned long)i);
        }
        if (!json_is_string(sku) || !printable(json_string_value(sku), 64)) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                                   "Item %lu: sku must be a string of 1 to 64 characters.",
                                   (unsigned long)i);
        }
        if (!json_is_integer(on_hand) || json_integer_value(on_hand) < -1000000000000LL
            || json_integer_value(on_hand) > 1000000000000LL) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                                   "Item %lu (%s): on_hand must be an integer.",
                                   (unsigned long)i, json_string_value(sku));
        }
        if (!as_of || b2b_erp_iso8601(as_of, when, sizeof(when)) != 0) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_stock",
                                   "Item %lu (%s): as_of must be an ISO 8601 time, e.g. "
                                   "2026-12-03T17:04:38Z.", (unsigned long)i,
                                   json_string_value(sku));
        }
        json_array_append_new(clean, json_pack("{s:O,s:O,s:s}", "sku", sku, "on_hand",
                                               on_hand, "as_of", when));
    }
    unknown = json_array();
    if (json_array_size(clean) == 0) {
        return b2b_reply_json(r, HTTP_OK, json_pack("{s:i,s:i,s:i,s:o}", "received", 0,
                                                    "applied", 0, "stale", 0,
                                                    "unknown_skus", unknown));
    }
    if (!(dbd = b2b_db(r))) {
        json_decref(unknown);
        return b2b_reply_db_down(r);
    }
    text = json_dumps(clean, JSON_COMPACT);
    args[0] = text ? apr_pstrdup(r->pool, text) : "[]";
    free(text);
    args[1] = "push";
    rows = b2b_db_select(r, dbd, "b2b_erp_stock_apply", 2, args, NULL);
    if (!rows || rows->nelts != 1) {
        json_decref(unknown);
        return b2b_reply_db_down(r);
    }
    c = APR_ARRAY_IDX(rows, 0, const char **);
    if (*c[4]) {
        char *list_copy = apr_pstrdup(r->pool, c[4]), *last, *tok;
        for (tok = apr_strtok(list_copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last)) {
            json_array_append_new(unknown, json_string(tok));
        }
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:I,s:I,s:I,s:o}",
        "received", (json_int_t)apr_atoi64(c[0]),
        "applied", (json_int_t)apr_atoi64(c[2]),
        "stale", (json_int_t)(apr_atoi64(c[1]) - apr_atoi64(c[2])),
        "unknown_skus", unknown));
}

/* ---- POST /erp/orders/{id}/status -------------------------------------------------- */

/* Where each reported status may come from. The portal's own statuses
 * queued and failed count as "the ERP has it, the delivery was not recorded
 * yet" (a report may overtake the worker's answer). */
static const char *status_sources(const char *status)
{
    if (!strcmp(status, "confirmed")) {
        return "{queued,failed,submitted,backordered}";
    }
    if (!strcmp(status, "backordered")) {
        return "{queued,failed,submitted,confirmed}";
    }
    if (!strcmp(status, "shipped")) {
        return "{queued,failed,submitted,confirmed,backordered}";
    }
    if (!strcmp(status, "invoiced")) {
        return "{queued,failed,submitted,confirmed,backordered,shipped}";
    }
    return NULL;
}

static int handle_order_status(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *id = req->params[0], *status, *erp_ref = "", *sources, *args[5];
    json_t *ref;
    apr_dbd_transaction_t *trans = NULL;
    apr_array_header_t *rows;
    const char **c;
    ap_dbd_t *dbd;

    if (!id_ok(id)) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "order_not_found", "No such order.");
    }
    if (!json_is_object(req->body)) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_status",
                               "Send {\"status\": \"confirmed\"|\"backordered\"|"
                               "\"shipped\"|\"invoiced\", \"erp_ref\"?}.");
    }
    status = json_string_value(json_object_get(req->body, "status"));
    sources = status ? status_sources(status) : NULL;
    if (!sources) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_status",
                               "status must be confirmed, backordered, shipped or invoiced.");
    }
    ref = json_object_get(req->body, "erp_ref");
    if (ref && !json_is_null(ref)) {
        if (!json_is_string(ref) || !printable(json_string_value(ref), 64)) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_status",
                                   "erp_ref must be a string of 1 to 64 characters.");
        }
        erp_ref = json_string_value(ref);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    if (apr_dbd_transaction_start(dbd->driver, r->pool, dbd->handle, &trans)) {
        return b2b_reply_db_down(r);
    }
    args[0] = id;
    rows = b2b_db_select(r, dbd, "b2b_erp_status_lock", 1, args, NULL);
    if (rows) {
        args[1] = status;
        args[2] = erp_ref;
        args[3] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, req->who->user_id);
        args[4] = sources;
        rows = b2b_db_select(r, dbd, "b2b_erp_status_report", 5, args, NULL);
    }
    if (!rows) {
        apr_dbd_transaction_mode_set(dbd->driver, trans, APR_DBD_TRANSACTION_ROLLBACK);
    }
    if (apr_dbd_transaction_end(dbd->driver, r->pool, trans) || !rows) {
        return b2b_reply_db_down(r);
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "order_not_found", "No order %s.", id);
    }
    c = APR_ARRAY_IDX(rows, 0, const char **);
    if (strcmp(c[2], "0")) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, B2BLOG(06031)
                      "erp: order %s %s -> %s (reported by the ERP)", id, c[0], status);
        return b2b_reply_json(r, HTTP_OK, json_pack("{s:I,s:s,s:s,s:o,s:b}",
            "id", (json_int_t)apr_atoi64(id), "status", status, "previous_status", c[0],
            "erp_ref", opt_text(*c[1] ? c[1] : erp_ref), "changed", 1));
    }
    if (*erp_ref && *c[1] && strcmp(erp_ref, c[1])) {
        return b2b_reply_error(r, HTTP_CONFLICT, "erp_ref_mismatch",
                               "Order %s is %s at the ERP, not %s.", id, c[1], erp_ref);
    }
    if (!strcmp(c[0], status)) {
        /* the same report twice: nothing to do, and not an error */
        return b2b_reply_json(r, HTTP_OK, json_pack("{s:I,s:s,s:s,s:o,s:b}",
            "id", (json_int_t)apr_atoi64(id), "status", status, "previous_status", c[0],
            "erp_ref", opt_text(c[1]), "changed", 0));
    }
    return b2b_reply_error(r, HTTP_CONFLICT, "illegal_transition",
                           "Order %s is %s; it cannot become %s.", id, c[0], status);
}

/* ---- registration ------------------------------------------------------------------ */

void b2b_erp_endpoints_register(void)
{
    b2b_db_prepare("b2b_erp_queue_list", SQL_QUEUE_LIST);
    b2b_db_prepare("b2b_erp_queue_counts", SQL_QUEUE_COUNTS);
    b2b_db_prepare("b2b_erp_queue_get", SQL_QUEUE_GET);
    b2b_db_prepare("b2b_erp_queue_attempts", SQL_QUEUE_ATTEMPTS);
    b2b_db_prepare("b2b_erp_queue_retry", SQL_QUEUE_RETRY);
    b2b_db_prepare("b2b_erp_recon_list", SQL_RECON_LIST);
    b2b_db_prepare("b2b_erp_recon_summary", SQL_RECON_SUMMARY);
    b2b_db_prepare("b2b_erp_stock_apply", B2B_ERP_SQL_APPLY_STOCK);
    b2b_db_prepare("b2b_erp_status_lock", SQL_STATUS_LOCK);
    b2b_db_prepare("b2b_erp_status_report", SQL_STATUS_REPORT);

    b2b_route_add("GET", "/admin/queue", handle_queue_list, B2B_ROUTE_ADMIN);
    b2b_route_add("GET", "/admin/queue/{id}", handle_queue_get, B2B_ROUTE_ADMIN);
    b2b_route_add("POST", "/admin/queue/{id}/retry", handle_queue_retry, B2B_ROUTE_ADMIN);
    b2b_route_add("GET", "/admin/stock/reconciliation", handle_reconciliation,
                  B2B_ROUTE_ADMIN);
    b2b_route_add("POST", "/erp/stock", handle_stock_push,
                  B2B_ROUTE_INTEGRATION | B2B_ROUTE_JSON_BODY);
    b2b_route_add("POST", "/erp/orders/{id}/status", handle_order_status,
                  B2B_ROUTE_INTEGRATION | B2B_ROUTE_JSON_BODY);
}
