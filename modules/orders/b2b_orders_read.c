/*
 * b2b_orders_read.c: GET /orders and GET /orders/{id}.
 *
 * Visibility: an order is visible to users who may act for its account (a
 * buyer: their own account; an approver or account admin: the account where
 * they hold the role and its whole subtree) and to portal operators. Never a
 * sibling's or another company's; an invisible order is a 404, like a
 * missing one, so order ids do not leak across accounts.
 *
 *   GET /orders?status=queued,pending_approval&from=2025-06-01&to=2025-06-30
 *              &account=ACME-NA&subtree=1&mine=1&page=1&per_page=50
 */
#include "b2b_orders.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_ORDER \
    "SELECT o.id, a.code, o.account_id, u.username, o.user_id, o.po_number, o.status, " \
    "o.currency, cur.minor_digits, o.net_minor, o.tax_minor, o.gross_minor, " \
    "o.promo_code, o.note, coalesce(o.pricing_generation, 0), o.erp_ref, " \
    "o.approval_required::text, " B2B_SQL_TS("o.created_at") ", " \
    B2B_SQL_TS("o.updated_at") ", coalesce(i.id, 0), i.number, ca.code, " \
    "o.credit_minor, ca.currency, coalesce(ccur.minor_digits, 2) " \
    "FROM orders o JOIN accounts a ON a.id = o.account_id " \
    "JOIN users u ON u.id = o.user_id " \
    "JOIN currencies cur ON cur.code = o.currency " \
    "LEFT JOIN invoices i ON i.id = o.invoice_id " \
    "LEFT JOIN accounts ca ON ca.id = o.credit_account_id " \
    "LEFT JOIN currencies ccur ON ccur.code = ca.currency " \
    "WHERE o.id = %s::bigint"

#define SQL_ORDER_LINES \
    "SELECT line_no, sku, coalesce(name, ''), qty, unit_price_minor, net_minor, " \
    "tax_minor, gross_minor, reserved_qty, backordered_qty, " \
    "coalesce(cart_unit_price_minor, -1) " \
    "FROM order_lines WHERE order_id = %s::bigint ORDER BY line_no"

#define SQL_ORDER_HISTORY \
    "SELECT h.status, " B2B_SQL_TS("h.at") ", u.username, h.note " \
    "FROM order_history h LEFT JOIN users u ON u.id = h.actor_user_id " \
    "WHERE h.order_id = %s::bigint ORDER BY h.at, h.id"

#define SQL_ORDERS_PAGE_COLUMNS \
    "o.id, a.code, u.username, o.po_number, o.status, o.currency, cur.minor_digits, " \
    "o.net_minor, o.tax_minor, o.gross_minor, " B2B_SQL_TS("o.created_at") ", " \
    B2B_SQL_TS("o.updated_at") ", " \
    "(SELECT count(*) FROM order_lines l WHERE l.order_id = o.id), count(*) OVER ()"

#define SQL_ACCOUNT_ID "SELECT id FROM accounts WHERE code = %s"

#define SQL_ORDERS_PAGE \
    "WITH p AS (SELECT nullif(%s, '')::bigint[] AS visible, " \
    "nullif(%s, '')::bigint AS scope, %s::boolean AS subtree, " \
    "nullif(%s, '')::text[] AS statuses, nullif(%s, '')::timestamptz AS from_ts, " \
    "nullif(%s, '')::timestamptz AS to_ts, nullif(%s, '')::bigint AS user_id) " \
    "SELECT " SQL_ORDERS_PAGE_COLUMNS " FROM p, orders o " \
    "JOIN accounts a ON a.id = o.account_id " \
    "JOIN users u ON u.id = o.user_id " \
    "JOIN currencies cur ON cur.code = o.currency " \
    "WHERE (p.visible IS NULL OR o.account_id = ANY (p.visible)) " \
    "AND (p.scope IS NULL OR o.account_id = p.scope OR (p.subtree AND EXISTS (" \
    "  SELECT 1 FROM account_closure c WHERE c.ancestor_id = p.scope " \
    "  AND c.descendant_id = o.account_id))) " \
    "AND (p.statuses IS NULL OR o.status = ANY (p.statuses)) " \
    "AND (p.from_ts IS NULL OR o.created_at >= p.from_ts) " \
    "AND (p.to_ts IS NULL OR o.created_at < p.to_ts) " \
    "AND (p.user_id IS NULL OR o.user_id = p.user_id) " \
    "ORDER BY o.created_at DESC, o.id DESC LIMIT %s::int OFFSET %s::int"

#define SQL_ORDERS_COUNT \
    "WITH p AS (SELECT nullif(%s, '')::bigint[] AS visible, " \
    "nullif(%s, '')::bigint AS scope, %s::boolean AS subtree, " \
    "nullif(%s, '')::text[] AS statuses, nullif(%s, '')::timestamptz AS from_ts, " \
    "nullif(%s, '')::timestamptz AS to_ts, nullif(%s, '')::bigint AS user_id) " \
    "SELECT count(*) FROM p, orders o " \
    "WHERE (p.visible IS NULL OR o.account_id = ANY (p.visible)) " \
    "AND (p.scope IS NULL OR o.account_id = p.scope OR (p.subtree AND EXISTS (" \
    "  SELECT 1 FROM account_closure c WHERE c.ancestor_id = p.scope " \
    "  AND c.descendant_id = o.account_id))) " \
    "AND (p.statuses IS NULL OR o.status = ANY (p.statuses)) " \
    "AND (p.from_ts IS NULL OR o.created_at >= p.from_ts) " \
    "AND (p.to_ts IS NULL OR o.created_at < p.to_ts) " \
    "AND (p.user_id IS NULL OR o.user_id = p.user_id)"

int b2b_order_visible(const b2b_req_t *req, apr_int64_t account_id)
{
    return b2b_is_portal_admin(req)
           || b2b_identity_account_by_id(req->who, account_id) != NULL;
}

static json_t *opt_string(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *b2b_order_detail(b2b_req_t *req, ap_dbd_t *dbd, apr_int64_t id,
                         int check_visible, int *status)
{
    request_rec *r = req->r;
    const char *args[1] = { b2b_i64(r->pool, id) };
    apr_array_header_t *rows, *lines, *hist;
    const char **o;
    json_t *jlines, *jhist, *out;
    const char *cur;
    int digits, i;

    rows = b2b_orders_select(r, dbd, "b2b_order_get", 1, args);
    if (!rows) {
        *status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    if (rows->nelts == 0) {
        *status = HTTP_NOT_FOUND;
        return NULL;
    }
    o = APR_ARRAY_IDX(rows, 0, const char **);
    if (check_visible && !b2b_order_visible(req, apr_atoi64(o[2]))) {
        *status = HTTP_NOT_FOUND;
        return NULL;
    }
    lines = b2b_orders_select(r, dbd, "b2b_order_lines", 1, args);
    hist = lines ? b2b_orders_select(r, dbd, "b2b_order_history", 1, args) : NULL;
    if (!lines || !hist) {
        *status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    cur = o[7];
    digits = atoi(o[8]);
    jlines = json_array();
    for (i = 0; i < lines->nelts; i++) {
        const char **l = APR_ARRAY_IDX(lines, i, const char **);
        apr_int64_t unit = apr_atoi64(l[4]), seen = apr_atoi64(l[10]);
        json_t *jl = json_pack("{s:i,s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:i,s:i,s:b}",
                               "line_no", atoi(l[0]), "sku", l[1], "name", l[2],
                               "qty", atoi(l[3]),
                               "unit_price", b2b_money_json(unit, digits, cur),
                               "net", b2b_money_json(apr_atoi64(l[5]), digits, cur),
                               "tax", b2b_money_json(apr_atoi64(l[6]), digits, cur),
                               "gross", b2b_money_json(apr_atoi64(l[7]), digits, cur),
                               "reserved_qty", atoi(l[8]), "backordered_qty", atoi(l[9]),
                               "price_changed", seen >= 0 && seen != unit);
        if (seen >= 0 && seen != unit) {
            json_object_set_new(jl, "previous_unit_price", b2b_money_json(seen, digits, cur));
        }
        json_array_append_new(jlines, jl);
    }
    jhist = json_array();
    for (i = 0; i < hist->nelts; i++) {
        const char **h = APR_ARRAY_IDX(hist, i, const char **);
        json_array_append_new(jhist, json_pack("{s:s,s:s,s:o,s:o}", "status", h[0],
                                               "at", h[1], "by", opt_string(h[2]),
                                               "note", opt_string(h[3])));
    }
    out = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:I,s:b,"
                    "s:o,s:s,s:s,s:o}",
                    "id", (json_int_t)apr_atoi64(o[0]),
                    "status", o[6],
                    "po_number", o[5],
                    "account", o[1],
                    "placed_by", o[3],
                    "currency", cur,
                    "lines", jlines,
                    "totals",
                        "net", b2b_money_json(apr_atoi64(o[9]), digits, cur),
                        "tax", b2b_money_json(apr_atoi64(o[10]), digits, cur),
                        "gross", b2b_money_json(apr_atoi64(o[11]), digits, cur),
                    "promo_code", opt_string(o[12]),
                    "note", opt_string(o[13]),
                    "pricing_generation", (json_int_t)apr_atoi64(o[14]),
                    "approval_required", !strcmp(o[16], "true"),
                    "erp_ref", opt_string(o[15]),
                    "created_at", o[17],
                    "updated_at", o[18],
                    "history", jhist);
    if (!out) {
        *status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    json_object_set_new(out, "invoice", apr_atoi64(o[19])
                        ? json_pack("{s:I,s:s}", "id", (json_int_t)apr_atoi64(o[19]),
                                    "number", o[20])
                        : json_null());
    json_object_set_new(out, "credit", o[21] && *o[21]
                        ? json_pack("{s:s,s:o}", "account", o[21], "charged",
                                    b2b_money_json(apr_atoi64(o[22]), atoi(o[24]), o[23]))
                        : json_null());
    *status = HTTP_OK;
    return out;
}

static int handle_order_get(b2b_req_t *req)
{
    apr_int64_t id = b2b_parse_id(req->params[0]);
    ap_dbd_t *dbd;
    json_t *out;
    int status;

    if (!req->acting && !b2b_is_portal_admin(req)) {
        return b2b_reply_error(req->r, HTTP_FORBIDDEN, "no_account",
                               "This user does not act for any account.");
    }
    if (!id) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "order_not_found", "No such order.");
    }
    if (!(dbd = b2b_db(req->r))) {
        return b2b_orders_db_unavailable(req->r);
    }
    out = b2b_order_detail(req, dbd, id, 1, &status);
    if (!out) {
        return status == HTTP_NOT_FOUND
               ? b2b_reply_error(req->r, HTTP_NOT_FOUND, "order_not_found", "No such order.")
               : b2b_orders_db_unavailable(req->r);
    }
    return b2b_reply_json(req->r, HTTP_OK, out);
}

/* status=a,b,c -> "{a,b,c}" after checking each name; NULL if one is bad. */
static const char *status_filter(apr_pool_t *p, const char *v)
{
    char *copy = apr_pstrdup(p, v), *tok, *last;
    const char *names[B2B_ORDER_STATUS_COUNT];
    int n = 0, i;
    for (tok = apr_strtok(copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last)) {
        b2b_order_status_t s = b2b_order_status_parse(tok);
        if (s == B2B_ORDER_INVALID) {
            return NULL;
        }
        for (i = 0; i < n && strcmp(names[i], tok); i++)
            ;
        if (i == n && n < B2B_ORDER_STATUS_COUNT) {
            names[n++] = b2b_order_status_name(s);
        }
    }
    return n ? b2b_pg_array_text(p, names, n) : NULL;
}

/* page / per_page: 1.., 1..200; -1 if bad. */
static long int_param(request_rec *r, const char *name, long dflt, long max)
{
    const char *v = b2b_query_param(r, name);
    char *end;
    long n;
    if (!v) {
        return dflt;
    }
    n = strtol(v, &end, 10);
    if (!*v || *end || n < 1 || n > max) {
        return -1;
    }
    return n;
}

static int bad_param(request_rec *r, const char *name, const char *what)
{
    return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_parameter", "%s: %s", name, what);
}

static int handle_orders_list(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *v, *args[9];
    const char *visible = "", *scope = "", *subtree = "t", *statuses = "",
               *from = "", *to = "", *mine = "";
    long page = int_param(r, "page", 1, 1000000), per_page = int_param(r, "per_page", 50, 200);
    apr_array_header_t *rows;
    ap_dbd_t *dbd;
    json_t *items;
    apr_int64_t total = 0;
    int i;

    if (!req->acting && !b2b_is_portal_admin(req)) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "no_account",
                               "This user does not act for any account.");
    }
    if (page < 0) {
        return bad_param(r, "page", "a whole number from 1");
    }
    if (per_page < 0) {
        return bad_param(r, "per_page", "a whole number from 1 to 200");
    }
    if ((v = b2b_query_param(r, "status")) && *v && !(statuses = status_filter(r->pool, v))) {
        return bad_param(r, "status", "a comma-separated list of order statuses");
    }
    if (!statuses) {
        statuses = "";
    }
    if ((v = b2b_query_param(r, "from")) && *v && !(from = b2b_parse_timestamp(r->pool, v, 0))) {
        return bad_param(r, "from", "a date (2025-06-01) or an ISO 8601 time");
    }
    if ((v = b2b_query_param(r, "to")) && *v && !(to = b2b_parse_timestamp(r->pool, v, 1))) {
        return bad_param(r, "to", "a date (2025-06-30, inclusive) or an ISO 8601 time");
    }
    if ((v = b2b_query_param(r, "subtree"))) {
        if (!strcmp(v, "0") || !strcmp(v, "false")) subtree = "f";
        else if (strcmp(v, "1") && strcmp(v, "true") && *v) {
            return bad_param(r, "subtree", "1 or 0");
        }
    }
    if ((v = b2b_query_param(r, "mine"))) {
        if (!strcmp(v, "1") || !strcmp(v, "true")) mine = b2b_i64(r->pool, req->who->user_id);
        else if (strcmp(v, "0") && strcmp(v, "false") && *v) {
            return bad_param(r, "mine", "1 or 0");
        }
    }
    if (!b2b_is_portal_admin(req)) {
        visible = b2b_visible_account_ids(r, req->who);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_orders_db_unavailable(r);
    }
    if ((v = b2b_query_param(r, "account")) && *v) {
        const b2b_account_ref_t *a = b2b_identity_account(req->who, v);
        if (a) {
            scope = b2b_i64(r->pool, a->id);
        }
        else if (!b2b_is_portal_admin(req)) {
            return b2b_account_denied(req, v) == DONE ? OK : OK;
        }
        else {
            /* operators see every account */
            const char *aargs[1] = { v };
            apr_array_header_t *ids = b2b_orders_select(r, dbd, "b2b_orders_account_id",
                                                        1, aargs);
            if (!ids) {
                return b2b_orders_db_unavailable(r);
            }
            if (!ids->nelts) {
                return b2b_reply_error(r, HTTP_NOT_FOUND, "account_not_found",
                                       "No account with that code.");
            }
            scope = APR_ARRAY_IDX(ids, 0, const char **)[0];
        }
    }
    else if (req->acting) {
        scope = b2b_i64(r->pool, req->acting->id);
    }

    args[0] = visible;
    args[1] = scope;
    args[2] = subtree;
    args[3] = statuses;
    args[4] = from;
    args[5] = to;
    args[6] = mine;
    {
        const char *pargs[9];
        memcpy(pargs, args, sizeof(const char *) * 7);
        pargs[7] = apr_psprintf(r->pool, "%ld", per_page);
        pargs[8] = apr_psprintf(r->pool, "%ld", (page - 1) * per_page);
        rows = b2b_orders_select(r, dbd, "b2b_orders_page", 9, pargs);
    }
    if (!rows) {
        return b2b_orders_db_unavailable(r);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **o = APR_ARRAY_IDX(rows, i, const char **);
        int digits = atoi(o[6]);
        total = apr_atoi64(o[13]);
        json_array_append_new(items, json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:s,s:{s:o,s:o,s:o},s:i,s:s,s:s}",
            "id", (json_int_t)apr_atoi64(o[0]), "account", o[1], "placed_by", o[2],
            "po_number", o[3], "status", o[4], "currency", o[5],
            "totals",
                "net", b2b_money_json(apr_atoi64(o[7]), digits, o[5]),
                "tax", b2b_money_json(apr_atoi64(o[8]), digits, o[5]),
                "gross", b2b_money_json(apr_atoi64(o[9]), digits, o[5]),
            "line_count", atoi(o[12]), "created_at", o[10], "updated_at", o[11]));
    }
    if (rows->nelts == 0 && page > 1) {
        apr_array_header_t *c = b2b_orders_select(r, dbd, "b2b_orders_count", 7, args);
        if (!c) {
            json_decref(items);
            return b2b_orders_db_unavailable(r);
        }
        total = apr_atoi64(APR_ARRAY_IDX(c, 0, const char **)[0]);
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:o,s:i,s:i,s:I}", "items", items,
                                                "page", (int)page, "per_page", (int)per_page,
                                                "total", (json_int_t)total));
}

void b2b_orders_read_routes(void)
{
    b2b_db_prepare("b2b_order_get", SQL_ORDER);
    b2b_db_prepare("b2b_order_lines", SQL_ORDER_LINES);
    b2b_db_prepare("b2b_order_history", SQL_ORDER_HISTORY);
    b2b_db_prepare("b2b_orders_page", SQL_ORDERS_PAGE);
    b2b_db_prepare("b2b_orders_count", SQL_ORDERS_COUNT);
    b2b_db_prepare("b2b_orders_account_id", SQL_ACCOUNT_ID);
    b2b_route_add("GET", "/orders", handle_orders_list, B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("GET", "/orders/{id}", handle_order_get, B2B_ROUTE_NO_ACCOUNT);
}
