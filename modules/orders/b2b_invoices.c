/*
 * b2b_invoices.c: consolidated invoices at the invoicing ancestor.
 *
 *   POST /invoices/run      {"account"?: "ACME", "period"?: "2025-06"}
 *                           account admins of the invoicing account, or a
 *                           portal operator: invoices every order of the
 *                           account's subtree placed in that month (UTC)
 *                           and not yet invoiced, one invoice per currency,
 *                           one line per order. Default account: the acting
 *                           account; default period: last month. Running it
 *                           again invoices only what is new (each order is
 *                           invoiced once: invoice_lines.order_id is unique).
 *   GET  /invoices          invoices of the accounts the caller may act for,
 *                           within the acting account's subtree
 *   GET  /invoices/{id}     one invoice with its lines
 *
 * An order belongs to the invoice of its nearest invoicing ancestor (an
 * invoicing division inside a group invoices its own subtree). Orders are
 * invoiced once accepted: queued, submitted, confirmed, backordered,
 * shipped, invoiced; never pending approval, rejected, cancelled or failed.
 */
#include "b2b_orders.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_INVOICING_ACCOUNT \
    "SELECT a.id, a.code, a.is_invoicing::text, coalesce(inv.code, '') " \
    "FROM accounts a LEFT JOIN accounts inv ON inv.id = b2b_invoicing_account(a.id) " \
    "WHERE a.code = %s"

#define SQL_RUN \
    "WITH p AS (SELECT %s::bigint AS account_id, %s::timestamptz AS period_start, " \
    "  %s::timestamptz AS period_end, %s::text AS prefix), " \
    "cand AS (SELECT o.id, o.currency, o.net_minor, o.tax_minor, o.gross_minor " \
    "  FROM p, orders o JOIN account_closure c ON c.descendant_id = o.account_id " \
    "  WHERE c.ancestor_id = p.account_id AND o.invoice_id IS NULL " \
    "  AND o.status IN ('queued', 'submitted', 'confirmed', 'backordered', 'shipped', " \
    "  'invoiced') " \
    "  AND o.created_at >= p.period_start AND o.created_at < p.period_end " \
    "  AND b2b_invoicing_account(o.account_id) = p.account_id " \
    "  FOR UPDATE OF o), " \
    "inv AS (INSERT INTO invoices (number, account_id, period_start, period_end, currency, " \
    "  net_minor, tax_minor, gross_minor) " \
    "  SELECT p.prefix || lpad(nextval('invoice_number_seq')::text, 6, '0'), p.account_id, " \
    "  p.period_start, p.period_end, t.currency, t.net, t.tax, t.gross " \
    "  FROM p, (SELECT currency, sum(net_minor) AS net, sum(tax_minor) AS tax, " \
    "    sum(gross_minor) AS gross FROM cand GROUP BY currency ORDER BY currency) t " \
    "  RETURNING id, currency), " \
    "il AS (INSERT INTO invoice_lines (invoice_id, order_id, net_minor, tax_minor, gross_minor) " \
    "  SELECT inv.id, cand.id, cand.net_minor, cand.tax_minor, cand.gross_minor " \
    "  FROM cand JOIN inv ON inv.currency = cand.currency), " \
    "up AS (UPDATE orders o SET invoice_id = inv.id FROM cand JOIN inv " \
    "  ON inv.currency = cand.currency WHERE o.id = cand.id) " \
    "SELECT inv.id FROM inv ORDER BY inv.currency"

#define SQL_INVOICE \
    "SELECT i.id, i.number, a.code, a.id, " B2B_SQL_TS("i.period_start") ", " \
    B2B_SQL_TS("i.period_end") ", i.currency, cur.minor_digits, i.net_minor, " \
    "i.tax_minor, i.gross_minor, " B2B_SQL_TS("i.issued_at") ", " \
    "(SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id) " \
    "FROM invoices i JOIN accounts a ON a.id = i.account_id " \
    "JOIN currencies cur ON cur.code = i.currency WHERE i.id = %s::bigint"

#define SQL_INVOICE_LINES \
    "SELECT o.id, o.po_number, a.code, u.username, " B2B_SQL_TS("o.created_at") ", " \
    "l.net_minor, l.tax_minor, l.gross_minor, o.status " \
    "FROM invoice_lines l JOIN orders o ON o.id = l.order_id " \
    "JOIN accounts a ON a.id = o.account_id JOIN users u ON u.id = o.user_id " \
    "WHERE l.invoice_id = %s::bigint ORDER BY o.created_at, o.id"

#define SQL_INVOICES_PAGE \
    "WITH p AS (SELECT nullif(%s, '')::bigint[] AS visible, nullif(%s, '')::bigint AS scope, " \
    "  nullif(%s, '')::timestamptz AS period_start) " \
    "SELECT i.id, i.number, a.code, " B2B_SQL_TS("i.period_start") ", " \
    B2B_SQL_TS("i.period_end") ", i.currency, cur.minor_digits, i.net_minor, i.tax_minor, " \
    "i.gross_minor, " B2B_SQL_TS("i.issued_at") ", " \
    "(SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id), count(*) OVER () " \
    "FROM p, invoices i JOIN accounts a ON a.id = i.account_id " \
    "JOIN currencies cur ON cur.code = i.currency " \
    "WHERE (p.visible IS NULL OR i.account_id = ANY (p.visible)) " \
    "AND (p.scope IS NULL OR EXISTS (SELECT 1 FROM account_closure c " \
    "  WHERE c.ancestor_id = p.scope AND c.descendant_id = i.account_id)) " \
    "AND (p.period_start IS NULL OR i.period_start = p.period_start) " \
    "ORDER BY i.issued_at DESC, i.id DESC LIMIT %s::int OFFSET %s::int"

static json_t *invoice_summary(const char **row, int with_count)
{
    int digits = atoi(row[6]);
    const char *cur = row[5];
    return json_pack("{s:I,s:s,s:s,s:{s:s,s:s},s:s,s:{s:o,s:o,s:o},s:s,s:i}",
                     "id", (json_int_t)apr_atoi64(row[0]), "number", row[1],
                     "account", row[2],
                     "period", "start", row[3], "end", row[4],
                     "currency", cur,
                     "totals", "net", b2b_money_json(apr_atoi64(row[7]), digits, cur),
                     "tax", b2b_money_json(apr_atoi64(row[8]), digits, cur),
                     "gross", b2b_money_json(apr_atoi64(row[9]), digits, cur),
                     "issued_at", row[10],
                     "order_count", with_count ? atoi(row[11]) : 0);
}

/* One invoice with its lines; NULL + *status on failure. */
static json_t *invoice_detail(b2b_req_t *req, ap_dbd_t *dbd, apr_int64_t id,
                              int check_visible, int *status)
{
    request_rec *r = req->r;
    const char *args[1] = { b2b_i64(r->pool, id) };
    apr_array_header_t *rows, *lines;
    const char **i, *summary[12];
    json_t *out, *jl;
    int digits, k;

    rows = b2b_orders_select(r, dbd, "b2b_invoice_get", 1, args);
    if (!rows) {
        *status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    if (!rows->nelts) {
        *status = HTTP_NOT_FOUND;
        return NULL;
    }
    i = APR_ARRAY_IDX(rows, 0, const char **);
    if (check_visible && !b2b_order_visible(req, apr_atoi64(i[3]))) {
        *status = HTTP_NOT_FOUND;
        return NULL;
    }
    if (!(lines = b2b_orders_select(r, dbd, "b2b_invoice_lines", 1, args))) {
        *status = HTTP_SERVICE_UNAVAILABLE;
        return NULL;
    }
    /* the summary's column order: id number account start end cur digits
     * net tax gross issued count */
    summary[0] = i[0]; summary[1] = i[1]; summary[2] = i[2]; summary[3] = i[4];
    summary[4] = i[5]; summary[5] = i[6]; summary[6] = i[7]; summary[7] = i[8];
    summary[8] = i[9]; summary[9] = i[10]; summary[10] = i[11]; summary[11] = i[12];
    out = invoice_summary(summary, 1);
    digits = atoi(i[7]);
    jl = json_array();
    for (k = 0; k < lines->nelts; k++) {
        const char **l = APR_ARRAY_IDX(lines, k, const char **);
        json_array_append_new(jl, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o}",
                              "order_id", (json_int_t)apr_atoi64(l[0]), "po_number", l[1],
                              "account", l[2], "placed_by", l[3], "ordered_at", l[4],
                              "status", l[8],
                              "net", b2b_money_json(apr_atoi64(l[5]), digits, i[6]),
                              "tax", b2b_money_json(apr_atoi64(l[6]), digits, i[6]),
                              "gross", b2b_money_json(apr_atoi64(l[7]), digits, i[6])));
    }
    json_object_set_new(out, "lines", jl);
    *status = HTTP_OK;
    return out;
}

static int handle_invoice_get(b2b_req_t *req)
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
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "invoice_not_found", "No such invoice.");
    }
    if (!(dbd = b2b_db(req->r))) {
        return b2b_orders_db_unavailable(req->r);
    }
    out = invoice_detail(req, dbd, id, 1, &status);
    if (!out) {
        return status == HTTP_NOT_FOUND
               ? b2b_reply_error(req->r, HTTP_NOT_FOUND, "invoice_not_found", "No such invoice.")
               : b2b_orders_db_unavailable(req->r);
    }
    return b2b_reply_json(req->r, HTTP_OK, out);
}

static long int_param(request_rec *r, const char *name, long dflt, long max)
{
    const char *v = b2b_query_param(r, name);
    char *end;
    long n;
    if (!v) {
        return dflt;
    }
    n = strtol(v, &end, 10);
    return (!*v || *end || n < 1 || n > max) ? -1 : n;
}

static int handle_invoices_list(b2b_req_t *req)
{
    request_rec *r = req->r;
    long page = int_param(r, "page", 1, 1000000), per_page = int_param(r, "per_page", 50, 200);
    const char *args[5], *v, *period_start = "", *period_end;
    apr_array_header_t *rows;
    ap_dbd_t *dbd;
    json_t *items;
    apr_int64_t total = 0;
    int i;

    if (!req->acting && !b2b_is_portal_admin(req)) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "no_account",
                               "This user does not act for any account.");
    }
    if (page < 0 || per_page < 0) {
        return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_parameter",
                               "page is a whole number from 1, per_page from 1 to 200.");
    }
    if ((v = b2b_query_param(r, "period")) && *v
        && !b2b_parse_month(r->pool, v, &period_start, &period_end)) {
        return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_parameter",
                               "period: a month, e.g. 2025-06.");
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_orders_db_unavailable(r);
    }
    args[0] = b2b_is_portal_admin(req) ? "" : b2b_visible_account_ids(r, req->who);
    args[1] = req->acting ? b2b_i64(r->pool, req->acting->id) : "";
    args[2] = period_start;
    args[3] = apr_psprintf(r->pool, "%ld", per_page);
    args[4] = apr_psprintf(r->pool, "%ld", (page - 1) * per_page);
    if (!(rows = b2b_orders_select(r, dbd, "b2b_invoices_page", 5, args))) {
        return b2b_orders_db_unavailable(r);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        const char *summary[12];
        summary[0] = row[0]; summary[1] = row[1]; summary[2] = row[2]; summary[3] = row[3];
        summary[4] = row[4]; summary[5] = row[5]; summary[6] = row[6]; summary[7] = row[7];
        summary[8] = row[8]; summary[9] = row[9]; summary[10] = row[10]; summary[11] = row[11];
        total = apr_atoi64(row[12]);
        json_array_append_new(items, invoice_summary(summary, 1));
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:o,s:i,s:i,s:I}", "items", items,
                                                "page", (int)page, "per_page", (int)per_page,
                                                "total", (json_int_t)total));
}

static int handle_invoices_run(b2b_req_t *req)
{
    request_rec *r = req->r;
    json_t *body = req->body, *v, *invoices;
    const char *code, *period, *start, *end, *args[4];
    apr_array_header_t *rows, *ids;
    const b2b_account_ref_t *acct;
    apr_int64_t account_id;
    ap_dbd_t *dbd;
    b2b_tx_t tx;
    int i, status;

    if (!json_is_object(body)) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_body",
                               "Send an object: {\"account\": \"ACME\", \"period\": \"2025-06\"}.");
    }
    v = json_object_get(body, "account");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_account",
                               "account is an account code.");
    }
    code = json_is_string(v) ? json_string_value(v)
                             : (req->acting ? req->acting->code : NULL);
    if (!code) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "account_required",
                               "Name the invoicing account: {\"account\": \"ACME\"}.");
    }
    v = json_object_get(body, "period");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)
            || !b2b_parse_month(r->pool, json_string_value(v), &start, &end)) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_period",
                                   "period is a month, e.g. \"2025-06\".");
        }
        period = json_string_value(v);
    }
    else {
        /* last month */
        apr_time_exp_t t;
        apr_time_exp_gmt(&t, r->request_time);
        t.tm_mon -= 1;
        if (t.tm_mon < 0) {
            t.tm_mon = 11;
            t.tm_year -= 1;
        }
        period = apr_psprintf(r->pool, "%04d-%02d", t.tm_year + 1900, t.tm_mon + 1);
        b2b_parse_month(r->pool, period, &start, &end);
    }
    {
        /* a period that has not begun has nothing to invoice */
        apr_time_exp_t now;
        char cur[8];
        apr_time_exp_gmt(&now, r->request_time);
        apr_snprintf(cur, sizeof(cur), "%04d-%02d", now.tm_year + 1900, now.tm_mon + 1);
        if (strcmp(period, cur) > 0) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_period",
                                   "%s has not begun yet.", period);
        }
    }

    /* who: an account admin over the invoicing account, or an operator */
    acct = b2b_identity_account(req->who, code);
    if (!acct && !b2b_is_portal_admin(req)) {
        return b2b_account_denied(req, code) == DONE ? OK : OK;
    }
    if (acct && !(acct->roles & B2B_ROLE_ACCOUNT_ADMIN) && !b2b_is_portal_admin(req)) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "forbidden",
                               "Only an account admin of %s or a portal operator may "
                               "issue its invoices.", code);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_orders_db_unavailable(r);
    }
    args[0] = code;
    if (!(rows = b2b_orders_select(r, dbd, "b2b_invoicing_account", 1, args))) {
        return b2b_orders_db_unavailable(r);
    }
    if (!rows->nelts) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "account_not_found",
                               "No account with that code.");
    }
    if (strcmp(APR_ARRAY_IDX(rows, 0, const char **)[2], "true")) {
        const char *inv = APR_ARRAY_IDX(rows, 0, const char **)[3];
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "not_invoicing_account",
                               "%s is not invoiced on its own%s%s.", code,
                               *inv ? "; its invoices are issued at " : "", inv);
    }
    account_id = apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[0]);

    if (b2b_tx_begin(&tx, r, dbd) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    args[0] = b2b_i64(r->pool, account_id);
    args[1] = start;
    args[2] = end;
    args[3] = apr_psprintf(r->pool, "INV-%.4s%.2s-", period, period + 5);
    ids = b2b_orders_select(r, dbd, "b2b_invoices_run", 4, args);
    if (!ids) {
        b2b_tx_fail(&tx);
    }
    if (b2b_tx_end(&tx) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    invoices = json_array();
    for (i = 0; i < ids->nelts; i++) {
        json_t *inv = invoice_detail(req, dbd, apr_atoi64(APR_ARRAY_IDX(ids, i,
                                     const char **)[0]), 0, &status);
        if (!inv) {
            json_decref(invoices);
            return b2b_orders_db_unavailable(r);
        }
        json_array_append_new(invoices, inv);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, B2BLOG(05201)
                  "invoicing %s for %s: %d invoice(s) issued by %s", code, period,
                  ids->nelts, req->who->username);
    return b2b_reply_json(r, ids->nelts ? HTTP_CREATED : HTTP_OK,
                          json_pack("{s:s,s:s,s:o}", "account", code, "period", period,
                                    "invoices", invoices));
}

void b2b_invoices_routes(void)
{
    b2b_db_prepare("b2b_invoicing_account", SQL_INVOICING_ACCOUNT);
    b2b_db_prepare("b2b_invoices_run", SQL_RUN);
    b2b_db_prepare("b2b_invoice_get", SQL_INVOICE);
    b2b_db_prepare("b2b_invoice_lines", SQL_INVOICE_LINES);
    b2b_db_prepare("b2b_invoices_page", SQL_INVOICES_PAGE);
    b2b_route_add("GET", "/invoices", handle_invoices_list, B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("GET", "/invoices/{id}", handle_invoice_get, B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("POST", "/invoices/run", handle_invoices_run,
                  B2B_ROUTE_JSON_BODY | B2B_ROUTE_NO_ACCOUNT);
}
