/*
 * b2b_orders_common.c: what the cart and orders endpoints share: pricing a
 * line through mod_b2b_pricing's optional function, money as JSON, product
 * lookups and the catalog visibility hook, transactions, small parsers.
 */
#include "b2b_orders.h"
#include "b2b_catalog_api.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_PRODUCTS_BY_SKU \
    "SELECT p.id, p.sku, p.name, coalesce(p.product_group_id, 0), c.code, " \
    "p.allow_backorder::text, p.active::text " \
    "FROM products p JOIN categories c ON c.id = p.category_id " \
    "WHERE p.sku = ANY(%s::text[])"

/* ---- configuration --------------------------------------------------------- */

int b2b_cart_max_lines(request_rec *r)
{
    b2b_dir_conf_t *conf = b2b_dir_conf(r);
    return conf->cart_max_lines != B2B_UNSET ? conf->cart_max_lines
                                             : B2B_DEFAULT_CART_MAX_LINES;
}

int b2b_import_max_rows(request_rec *r)
{
    b2b_dir_conf_t *conf = b2b_dir_conf(r);
    return conf->import_max_rows != B2B_UNSET ? conf->import_max_rows
                                              : B2B_DEFAULT_IMPORT_MAX_ROWS;
}

/* ---- database -------------------------------------------------------------- */

/* The core's select fetches whole results (a statement error is an error,
 * not "no rows"), which a transaction needs. */
apr_array_header_t *b2b_orders_select(request_rec *r, ap_dbd_t *dbd,
                                      const char *label, int nargs,
                                      const char **args)
{
    return b2b_db_select(r, dbd, label, nargs, args, NULL);
}

apr_status_t b2b_tx_begin(b2b_tx_t *tx, request_rec *r, ap_dbd_t *dbd)
{
    int rv;
    memset(tx, 0, sizeof(*tx));
    tx->r = r;
    tx->dbd = dbd;
    rv = apr_dbd_transaction_start(dbd->driver, r->pool, dbd->handle, &tx->trans);
    if (rv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(05002)
                      "BEGIN failed: %s", apr_dbd_error(dbd->driver, dbd->handle, rv));
        tx->trans = NULL;
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void b2b_tx_fail(b2b_tx_t *tx)
{
    tx->failed = 1;
    if (tx->trans) {
        apr_dbd_transaction_mode_set(tx->dbd->driver, tx->trans,
                                     APR_DBD_TRANSACTION_ROLLBACK);
    }
}

apr_status_t b2b_tx_end(b2b_tx_t *tx)
{
    int rv;
    if (!tx->trans) {
        return APR_EGENERAL;
    }
    rv = apr_dbd_transaction_end(tx->dbd->driver, tx->r->pool, tx->trans);
    tx->trans = NULL;
    if (rv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, tx->r, B2BLOG(05003)
                      "%s failed: %s", tx->failed ? "ROLLBACK" : "COMMIT",
                      apr_dbd_error(tx->dbd->driver, tx->dbd->handle, rv));
        return APR_EGENERAL;
    }
    /* a successful ROLLBACK is still not a commit */
    return tx->failed ? APR_EGENERAL : APR_SUCCESS;
}

/* ---- products -------------------------------------------------------------- */

int b2b_product_visible(const b2b_req_t *req, const b2b_account_ref_t *account,
                        const b2b_product_info_t *product)
{
    /* The catalog's access rules (include/b2b_catalog_api.h): the very
     * decision behind the catalog's 404s. A database that cannot confirm it
     * (-1) is passed on: the caller answers 503, and sells nothing. */
    APR_OPTIONAL_FN_TYPE(b2b_catalog_visible) *visible =
        APR_RETRIEVE_OPTIONAL_FN(b2b_catalog_visible);
    if (!product->active) {
        return 0;
    }
    if (!visible || !account) {
        return 1;
    }
    return visible(req->r, account->id, product->sku);
}

apr_hash_t *b2b_products_by_sku(request_rec *r, ap_dbd_t *dbd,
                                const char *const *skus, int n)
{
    apr_hash_t *out = apr_hash_make(r->pool);
    const char *args[1];
    apr_array_header_t *rows;
    int i;

    if (n == 0) {
        return out;
    }
    args[0] = b2b_pg_array_text(r->pool, skus, n);
    rows = b2b_orders_select(r, dbd, "b2b_orders_products_by_sku", 1, args);
    if (!rows) {
        return NULL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        b2b_product_info_t *p = apr_pcalloc(r->pool, sizeof(*p));
        p->id = apr_atoi64(row[0]);
        p->sku = row[1];
        p->name = row[2];
        p->group_id = apr_atoi64(row[3]);
        p->category = row[4];
        p->allow_backorder = row[5] && !strcmp(row[5], "true");
        p->active = row[6] && !strcmp(row[6], "true");
        apr_hash_set(out, p->sku, APR_HASH_KEY_STRING, p);
    }
    return out;
}

/* ---- pricing --------------------------------------------------------------- */

APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *b2b_orders_quote_fn(void)
{
    /* looked up per request: a hash lookup, and it follows a reload that
     * adds or removes mod_b2b_pricing */
    return APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote);
}

void b2b_orders_price(APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote,
                      request_rec *r, const char *account_code,
                      const char *sku, long qty, const char *promo,
                      b2b_priced_t *out)
{
    b2b_query_t q;
    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    q.account_code = account_code;
    q.account_index = -1;
    q.sku = sku;
    q.qty = qty;
    q.promo_code = promo && *promo ? promo : NULL;
    q.currency = NULL;
    /* the quote endpoint prices "now" as the request's second: the same
     * second gives the same answer everywhere */
    q.as_of = (int64_t)apr_time_sec(r->request_time);
    out->status = quote(&q, &out->quote, &out->generation);
}

int b2b_orders_pricing_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "2");
    return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "pricing_unavailable",
                           "Prices cannot be computed right now; try again "
                           "in a moment.");
}

int b2b_orders_price_error(request_rec *r, const char *sku, b2b_status_t st)
{
    switch (st) {
    case B2B_ERR_UNKNOWN_SKU:
        return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku",
                               "No product %s.", sku);
    case B2B_ERR_NO_PRICE:
    case B2B_ERR_NO_FX_RATE:
        return b2b_reply_error(r, HTTP_CONFLICT, "no_price",
                               "%s has no price for this account yet; it "
                               "cannot be ordered.", sku);
    case B2B_ERR_OVERFLOW:
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "amount_too_large",
                               "The amount for %s is too large.", sku);
    case B2B_ERR_BAD_QUANTITY:
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_quantity",
                               "The quantity of %s must be from 1 to 1000000.",
                               sku);
    default:
        /* no snapshot yet, an account the snapshot does not know yet, ... */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, B2BLOG(05004)
                      "pricing %s failed: %s", sku, b2b_status_name(st));
        return b2b_orders_pricing_unavailable(r);
    }
}

/* ---- replies --------------------------------------------------------------- */

json_t *b2b_money_json(apr_int64_t minor, int digits, const char *currency)
{
    char buf[48];
    if (!b2b_money_format((int64_t)minor, digits, buf, sizeof(buf))) {
        apr_cpystrn(buf, "0", sizeof(buf));
    }
    return json_pack("{s:s,s:s}", "amount", buf, "currency", currency);
}

int b2b_orders_db_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "2");
    return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                           "The portal database is not answering; try again.");
}

int b2b_orders_error_details(request_rec *r, int status, const char *code,
                             json_t *details, const char *fmt, ...)
{
    va_list ap;
    const char *message;
    json_t *err;

    va_start(ap, fmt);
    message = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    err = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message",
                    message, "details", details ? details : json_null());
    if (!err) {
        return b2b_reply_error(r, status, code, "%s", message);
    }
    return b2b_reply_json(r, status, err);
}

/* ---- small helpers ------------------------------------------------------------ */

const char *b2b_i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

const char *b2b_pg_array_i64(apr_pool_t *p, const apr_int64_t *v, int n)
{
    struct iovec *vec;
    int i;
    if (n == 0) {
        return "{}";
    }
    vec = apr_palloc(p, sizeof(*vec) * (apr_size_t)(2 * n + 1));
    for (i = 0; i < n; i++) {
        const char *s = apr_psprintf(p, "%" APR_INT64_T_FMT, v[i]);
        vec[2 * i].iov_base = (void *)(i ? "," : "{");
        vec[2 * i].iov_len = 1;
        vec[2 * i + 1].iov_base = (void *)s;
        vec[2 * i + 1].iov_len = strlen(s);
    }
    vec[2 * n].iov_base = (void *)"}";
    vec[2 * n].iov_len = 1;
    return apr_pstrcatv(p, vec, (apr_size_t)(2 * n + 1), NULL);
}

const char *b2b_pg_array_text(apr_pool_t *p, const char *const *v, int n)
{
    struct iovec *vec;
    int i;
    if (n == 0) {
        return "{}";
    }
    vec = apr_palloc(p, sizeof(*vec) * (apr_size_t)(2 * n + 1));
    for (i = 0; i < n; i++) {
        vec[2 * i].iov_base = (void *)(i ? "," : "{");
        vec[2 * i].iov_len = 1;
        vec[2 * i + 1].iov_base = (void *)v[i];
        vec[2 * i + 1].iov_len = strlen(v[i]);
    }
    vec[2 * n].iov_base = (void *)"}";
    vec[2 * n].iov_len = 1;
    return apr_pstrcatv(p, vec, (apr_size_t)(2 * n + 1), NULL);
}

apr_int64_t b2b_parse_id(const char *s)
{
    apr_int64_t v = 0;
    int n = 0;
    if (!s || !*s || *s == '0') {
        return 0;
    }
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 18) {
            return 0;
        }
        v = v * 10 + (*s - '0');
    }
    return v;
}

const char *b2b_query_param(request_rec *r, const char *name)
{
    char *args, *tok, *last;
    apr_size_t nlen = strlen(name);
    if (!r->args) {
        return NULL;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (tok = apr_strtok(args, "&", &last); tok; tok = apr_strtok(NULL, "&", &last)) {
        if (!strncmp(tok, name, nlen) && (tok[nlen] == '=' || tok[nlen] == '\0')) {
            char *v = tok[nlen] == '=' ? tok + nlen + 1 : tok + nlen;
            if (ap_unescape_urlencoded(v) != OK) {
                return "\x01";   /* undecodable: no valid value looks like this */
            }
            return v;
        }
    }
    return NULL;
}

const b2b_account_ref_t *b2b_identity_account_by_id(const b2b_identity_t *who,
                                                    apr_int64_t id)
{
    int i;
    for (i = 0; i < who->accounts->nelts; i++) {
        const b2b_account_ref_t *a = &APR_ARRAY_IDX(who->accounts, i,
                                                    b2b_account_ref_t);
        if (a->id == id) {
            return a;
        }
    }
    return NULL;
}

const char *b2b_visible_account_ids(request_rec *r, const b2b_identity_t *who)
{
    apr_int64_t *ids = apr_palloc(r->pool, sizeof(*ids) * (who->accounts->nelts + 1));
    int i;
    for (i = 0; i < who->accounts->nelts; i++) {
        ids[i] = APR_ARRAY_IDX(who->accounts, i, b2b_account_ref_t).id;
    }
    return b2b_pg_array_i64(r->pool, ids, who->accounts->nelts);
}

/* ---- dates ------------------------------------------------------------------------ */

static int digits_at(const char *s, int n, int *out)
{
    int i, v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Validated before PostgreSQL sees it: a cast that fails there would be a
 * database error, and bad input must be a 400, not a 503. */
const char *b2b_parse_timestamp(apr_pool_t *p, const char *s, int end_of_day)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t len;
    if (!s) {
        return NULL;
    }
    len = strlen(s);
    if (len < 10 || !digits_at(s, 4, &y) || s[4] != '-' || !digits_at(s + 5, 2, &mo)
        || s[7] != '-' || !digits_at(s + 8, 2, &d)
        || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        return NULL;
    }
    if (len == 10) {
        if (end_of_day) {
            if (++d > days_in_month(y, mo)) {
                d = 1;
                if (++mo > 12) {
                    mo = 1;
                    y++;
                }
            }
        }
        return apr_psprintf(p, "%04d-%02d-%02dT00:00:00Z", y, mo, d);
    }
    {
        const char *t = s + 10, *zone;
        if ((*t != 'T' && *t != 't' && *t != ' ') || !digits_at(t + 1, 2, &h) || t[3] != ':'
            || !digits_at(t + 4, 2, &mi) || t[6] != ':' || !digits_at(t + 7, 2, &sec)
            || h > 23 || mi > 59 || sec > 59) {
            return NULL;
        }
        zone = t + 9;
        if (*zone == '.') {
            int nd = 0;
            for (zone++; *zone >= '0' && *zone <= '9'; zone++) {
                nd++;
            }
            if (nd < 1 || nd > 6) {
                return NULL;
            }
        }
        if (!strcmp(zone, "Z") || !strcmp(zone, "z")) {
            return apr_pstrdup(p, s);
        }
        if ((*zone == '+' || *zone == '-') && strlen(zone) == 6) {
            int zh, zm;
            if (digits_at(zone + 1, 2, &zh) && zone[3] == ':' && digits_at(zone + 4, 2, &zm)
                && zh <= 14 && zm <= 59) {
                return apr_pstrdup(p, s);
            }
        }
        return NULL;
    }
}

int b2b_parse_month(apr_pool_t *p, const char *s, const char **start, const char **end)
{
    int y, m;
    if (!s || strlen(s) != 7 || !digits_at(s, 4, &y) || s[4] != '-'
        || !digits_at(s + 5, 2, &m) || y < 1970 || y > 9998 || m < 1 || m > 12) {
        return 0;
    }
    *start = apr_psprintf(p, "%04d-%02d-01T00:00:00Z", y, m);
    *end = apr_psprintf(p, "%04d-%02d-01T00:00:00Z", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    return 1;
}

void b2b_orders_common_register(void)
{
    b2b_db_prepare("b2b_orders_products_by_sku", SQL_PRODUCTS_BY_SKU);
}

void b2b_orders_register(void)
{
    b2b_checkout_routes();
    b2b_orders_read_routes();
    b2b_order_actions_routes();
    b2b_invoices_routes();
}
