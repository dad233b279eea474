/*
 * b2b_pricing_admin.c: the portal operator's price rules.
 *
 *   GET    /admin/price-rules[?kind=&account=&sku=&page=&per_page=]
 *   POST   /admin/price-rules                 create
 *   GET    /admin/price-rules/{id}
 *   PUT    /admin/price-rules/{id}            replace
 *   DELETE /admin/price-rules/{id}
 *   POST   /admin/price-rules/preview[?delete={id}]
 *
 * A change is one transaction: the rule, and a price_rule_changes row with
 * the version the change produced and the narrowest scope it touches. After
 * the commit it is published on Redis so every node's worker wakes now; a
 * node that misses the message still finds the change log within
 * B2BPricingMaxStaleness.
 *
 * The preview compiles the change into a private copy of the snapshot and
 * prices sample (account, sku) pairs before and after, without writing.
 */
#include "b2b_pricing_shell.h"
#include "b2b_pricing_json.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include <hiredis/hiredis.h>

APLOG_USE_MODULE(b2b_pricing);

/* Codes to ids; '' where a code was not given or does not exist. */
#define SQL_LOOKUP \
    "SELECT coalesce((SELECT id FROM accounts WHERE code = %s)::text, ''), " \
    "coalesce((SELECT id FROM price_lists WHERE code = %s)::text, ''), " \
    "coalesce((SELECT id FROM products WHERE sku = %s)::text, ''), " \
    "coalesce((SELECT id FROM product_groups WHERE code = %s)::text, '')"

#define RULE_VALUES \
    "%s, nullif(%s, '')::bigint, nullif(%s, '')::bigint, nullif(%s, '')::bigint, " \
    "nullif(%s, '')::bigint, nullif(%s, ''), nullif(%s, '')::bigint, " \
    "nullif(%s, '')::int, nullif(%s, '')::bigint, nullif(%s, '')::int, " \
    "nullif(%s, ''), %s::boolean, to_timestamp(nullif(%s, '')::bigint), " \
    "to_timestamp(nullif(%s, '')::bigint), nullif(%s, ''), nullif(%s, ''), " \
    "nullif(%s, ''), nullif(%s, '')::int, nullif(%s, ''), nullif(%s, '')::bigint"

#define RULE_FIELDS \
    "kind, account_id, price_list_id, product_id, product_group_id, currency, " \
    "price_minor, discount_bp, amount_off_minor, min_qty, promo_code, stackable, " \
    "valid_from, valid_to, country, region, tax_class, rate_bp, to_currency, " \
    "fx_rate_micro"

#define SQL_INSERT "INSERT INTO price_rules (" RULE_FIELDS ") VALUES (" \
    RULE_VALUES ") RETURNING id::text"
#define SQL_UPDATE "UPDATE price_rules SET (" RULE_FIELDS ") = (" RULE_VALUES \
    ") WHERE id = %s::bigint RETURNING id::text"
#define SQL_DELETE "DELETE FROM price_rules WHERE id = %s::bigint RETURNING id::text"

/* The rule as text, codes and ids both; epoch seconds for validity. */
#define SELECT_RULE \
    "SELECT r.id::text, r.kind, coalesce(a.code, ''), coalesce(pl.code, ''), " \
    "coalesce(p.sku, ''), coalesce(g.code, ''), coalesce(r.currency, ''), " \
    "coalesce(r.price_minor::text, ''), coalesce(r.discount_bp::text, ''), " \
    "coalesce(r.amount_off_minor::text, ''), coalesce(r.min_qty::text, ''), " \
    "coalesce(r.promo_code, ''), r.stackable::text, " \
    "coalesce(ceil(extract(epoch FROM r.valid_from))::bigint::text, ''), " \
    "coalesce(ceil(extract(epoch FROM r.valid_to))::bigint::text, ''), " \
    "coalesce(r.country, ''), coalesce(r.region, ''), coalesce(r.tax_class, ''), " \
    "coalesce(r.rate_bp::text, ''), coalesce(r.to_currency, ''), " \
    "coalesce(r.fx_rate_micro::text, ''), coalesce(r.account_id::text, ''), " \
    "coalesce(r.product_id::text, ''), coalesce(r.product_group_id::text, ''), " \
    "coalesce(r.price_list_id::text, ''), count(*) OVER ()::text " \
    "FROM price_rules r LEFT JOIN accounts a ON a.id = r.account_id " \
    "LEFT JOIN price_lists pl ON pl.id = r.price_list_id " \
    "LEFT JOIN products p ON p.id = r.product_id " \
    "LEFT JOIN product_groups g ON g.id = r.product_group_id "

#define SQL_GET SELECT_RULE "WHERE r.id = %s::bigint"
#define SQL_LIST SELECT_RULE \
    "WHERE (%s = '' OR r.kind = %s) AND (%s = '' OR a.code = %s) " \
    "AND (%s = '' OR p.sku = %s) ORDER BY r.id LIMIT %s::int OFFSET %s::int"

#define SQL_CHANGE \
    "INSERT INTO price_rule_changes (version, scope_kind, scope_id, rule_id, " \
    "action, actor) SELECT version, %s, %s::bigint, %s::bigint, %s, %s " \
    "FROM pricing_state WHERE id = 1 RETURNING version::text"

/* How many accounts and SKUs a rule reaches, and a few of each to sample. */
#define SQL_AFFECTED_ACCOUNTS \
    "WITH x AS (SELECT a.code FROM accounts a WHERE CASE " \
    " WHEN %s IN ('contract', 'promo') AND %s <> '' THEN a.id IN " \
    "   (SELECT descendant_id FROM account_closure WHERE ancestor_id = %s::bigint) " \
    " WHEN %s = 'tier' THEN b2b_effective_price_list(a.id) = %s::bigint " \
    " WHEN %s = 'tax' THEN a.country = %s AND (%s = '' OR a.region = %s) " \
    " ELSE true END) " \
    "SELECT (SELECT count(*) FROM x)::text, code FROM x ORDER BY code LIMIT 8"
#define SQL_AFFECTED_SKUS \
    "WITH x AS (SELECT p.sku FROM products p WHERE p.active AND CASE " \
    " WHEN %s <> '' THEN p.id = %s::bigint " \
    " WHEN %s <> '' THEN p.product_group_id = %s::bigint " \
    " ELSE true END) " \
    "SELECT (SELECT count(*) FROM x)::text, sku FROM x ORDER BY sku LIMIT 8"

typedef struct rule_row_t {
    b2b_rule_spec_t spec;
    b2b_rule_t rule;                  /* with ids, for the scope */
    const char *ids[4];               /* account, product, group, price list */
} rule_row_t;

/* ---- helpers -------------------------------------------------------------- */

static int digits_from_snapshot(const char *code, void *ctx)
{
    (void)ctx;
    {
        unsigned slot;
        const void *snap = b2b_pricing_acquire(&slot);
        int d = -1;
        if (snap) {
            d = b2b_snapshot_currency_digits(snap, code);
            b2b_pricing_release(slot);
        }
        if (d >= 0) {
            return d;
        }
    }
    /* before the first snapshot: the currencies the schema seeds */
    if (!strcmp(code, "JPY")) return 0;
    if (!strcmp(code, "KWD")) return 3;
    if (!strcmp(code, "USD") || !strcmp(code, "EUR") || !strcmp(code, "GBP")) return 2;
    return -1;
}

static int reply_json_error(request_rec *r, const b2b_json_error_t *err)
{
    char *text = b2b_json_error_render(err);
    int status = err->status ? err->status : HTTP_UNPROCESSABLE_ENTITY;
    if (!text) {
        return b2b_reply_error(r, status, err->code, "%s", err->message);
    }
    b2b_reply_json_text(r, status, text);
    free(text);
    return OK;
}


static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static const char *opt_i64(apr_pool_t *p, unsigned has, unsigned bit, apr_int64_t v)
{
    return (has & bit) ? i64(p, v) : "";
}

static const char *time_arg(apr_pool_t *p, int64_t t)
{
    return (t == B2B_TIME_MIN || t == B2B_TIME_MAX) ? "" : i64(p, t);
}

/* The scope of a rule as the change log and the worker name it. */
static const char *scope_name(b2b_scope_kind_t k)
{
    switch (k) {
    case B2B_SCOPE_ACCOUNT:
    case B2B_SCOPE_ACCOUNT_OWN: return "account";
    case B2B_SCOPE_PRODUCT_GROUP: return "product_group";
    case B2B_SCOPE_SKU: return "sku";
    default: return "all";
    }
}

/* Resolves the codes of a spec; fills out->rule and the id strings. */
static int resolve_codes(b2b_req_t *req, ap_dbd_t *dbd, const b2b_rule_spec_t *spec,
                         rule_row_t *out)
{
    request_rec *r = req->r;
    const char *args[4] = { spec->account, spec->tier, spec->sku, spec->product_group };
    static const char *const names[4] = { "account", "tier", "sku", "product_group" };
    apr_array_header_t *rows;
    const char **row;
    int i;

    rows = b2b_db_select(r, dbd, "b2b_pr_lookup", 4, args, NULL);
    if (!rows || rows->nelts != 1) {
        return b2b_reply_db_down(r), DONE;
    }
    row = APR_ARRAY_IDX(rows, 0, const char **);
    for (i = 0; i < 4; i++) {
        if (*args[i] && !*row[i]) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "unknown_reference",
                                   "%s: no %s with code %s.", names[i], names[i],
                                   args[i]), DONE;
        }
    }
    out->spec = *spec;
    b2b_rule_init(&out->rule);
    out->rule.id = spec->id;
    out->rule.kind = spec->kind;
    out->rule.account_id = *row[0] ? apr_atoi64(row[0]) : B2B_NONE_ID;
    out->rule.price_list_id = *row[1] ? apr_atoi64(row[1]) : B2B_NONE_ID;
    out->rule.product_id = *row[2] ? apr_atoi64(row[2]) : B2B_NONE_ID;
    out->rule.product_group_id = *row[3] ? apr_atoi64(row[3]) : B2B_NONE_ID;
    out->ids[0] = row[0];
    out->ids[1] = row[2];
    out->ids[2] = row[3];
    out->ids[3] = row[1];
    return OK;
}

/* The 20 column values of a rule, in RULE_FIELDS order. */
static void rule_args(apr_pool_t *p, const rule_row_t *rr, const char **a)
{
    const b2b_rule_spec_t *s = &rr->spec;
    a[0] = b2b_kind_name(s->kind);
    a[1] = rr->ids[0];
    a[2] = rr->ids[3];
    a[3] = rr->ids[1];
    a[4] = rr->ids[2];
    a[5] = s->currency;
    a[6] = opt_i64(p, s->has, B2B_RULE_HAS_PRICE, s->price_minor);
    a[7] = opt_i64(p, s->has, B2B_RULE_HAS_DISCOUNT, s->discount_bp);
    a[8] = opt_i64(p, s->has, B2B_RULE_HAS_AMOUNT_OFF, s->amount_off_minor);
    a[9] = opt_i64(p, s->has, B2B_RULE_HAS_MIN_QTY, s->min_qty);
    a[10] = s->promo_code;
    a[11] = s->stackable ? "true" : "false";
    a[12] = time_arg(p, s->valid_from);
    a[13] = time_arg(p, s->valid_to);
    a[14] = s->country;
    a[15] = s->region;
    a[16] = s->tax_class;
    a[17] = opt_i64(p, s->has, B2B_RULE_HAS_RATE, s->rate_bp);
    a[18] = s->to_currency;
    a[19] = opt_i64(p, s->has, B2B_RULE_HAS_FX_RATE, s->fx_rate_micro);
}

static void copy_code(char *dst, apr_size_t cap, const char *src)
{
    apr_cpystrn(dst, src ? src : "", cap);
}

/* A SELECT_RULE row back into a spec and a rule. */
static void row_to_rule(const char **row, rule_row_t *rr)
{
    b2b_rule_spec_t *s = &rr->spec;
    memset(rr, 0, sizeof(*rr));
    s->id = apr_atoi64(row[0]);
    s->kind = (b2b_kind_t)b2b_kind_parse(row[1], strlen(row[1]));
    copy_code(s->account, sizeof(s->account), row[2]);
    copy_code(s->tier, sizeof(s->tier), row[3]);
    copy_code(s->sku, sizeof(s->sku), row[4]);
    copy_code(s->product_group, sizeof(s->product_group), row[5]);
    copy_code(s->currency, sizeof(s->currency), row[6]);
    if (*row[7]) { s->has |= B2B_RULE_HAS_PRICE; s->price_minor = apr_atoi64(row[7]); }
    if (*row[8]) { s->has |= B2B_RULE_HAS_DISCOUNT; s->discount_bp = atoi(row[8]); }
    if (*row[9]) { s->has |= B2B_RULE_HAS_AMOUNT_OFF; s->amount_off_minor = apr_atoi64(row[9]); }
    if (*row[10]) { s->has |= B2B_RULE_HAS_MIN_QTY; s->min_qty = atoi(row[10]); }
    copy_code(s->promo_code, sizeof(s->promo_code), row[11]);
    s->stackable = !strcmp(row[12], "true");
    s->valid_from = *row[13] ? apr_atoi64(row[13]) : B2B_TIME_MIN;
    s->valid_to = *row[14] ? apr_atoi64(row[14]) : B2B_TIME_MAX;
    copy_code(s->country, sizeof(s->country), row[15]);
    copy_code(s->region, sizeof(s->region), row[16]);
    copy_code(s->tax_class, sizeof(s->tax_class), row[17]);
    if (*row[18]) { s->has |= B2B_RULE_HAS_RATE; s->rate_bp = atoi(row[18]); }
    copy_code(s->to_currency, sizeof(s->to_currency), row[19]);
    if (*row[20]) { s->has |= B2B_RULE_HAS_FX_RATE; s->fx_rate_micro = apr_atoi64(row[20]); }
    b2b_rule_init(&rr->rule);
    rr->rule.id = s->id;
    rr->rule.kind = s->kind;
    rr->rule.account_id = *row[21] ? apr_atoi64(row[21]) : B2B_NONE_ID;
    rr->rule.product_id = *row[22] ? apr_atoi64(row[22]) : B2B_NONE_ID;
    rr->rule.product_group_id = *row[23] ? apr_atoi64(row[23]) : B2B_NONE_ID;
    rr->rule.price_list_id = *row[24] ? apr_atoi64(row[24]) : B2B_NONE_ID;
    rr->ids[0] = row[21];
    rr->ids[1] = row[22];
    rr->ids[2] = row[23];
    rr->ids[3] = row[24];
}

static json_t *rule_json(const rule_row_t *rr)
{
    char *text = b2b_rule_spec_render(&rr->spec, digits_from_snapshot, NULL);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return v ? v : json_null();
}

static int load_rule(b2b_req_t *req, ap_dbd_t *dbd, const char *id, rule_row_t *out)
{
    const char *args[1] = { id };
    apr_array_header_t *rows = b2b_db_select(req->r, dbd, "b2b_pr_get", 1, args, NULL);
    if (!rows) {
        return b2b_reply_db_down(req->r), DONE;
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "rule_not_found",
                               "No price rule %s.", id), DONE;
    }
    row_to_rule(APR_ARRAY_IDX(rows, 0, const char **), out);
    return OK;
}

static int parse_spec(b2b_req_t *req, b2b_rule_spec_t *spec)
{
    b2b_json_error_t jerr;
    memset(&jerr, 0, sizeof(jerr));
    if (b2b_rule_spec_parse(req->raw_body, req->raw_len, digits_from_snapshot, NULL,
                            spec, &jerr) != B2B_OK) {
        return reply_json_error(req->r, &jerr), DONE;
    }
    return OK;
}

void b2b_pricing_notify(request_rec *r, apr_uint64_t version)
{
    const char *addr = b2b_conf_redis(r->server);
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    struct timeval tv = { 0, 300000 };
    redisContext *c;
    redisReply *reply;
    char host[256];
    apr_size_t n;

    if (!colon || (n = (apr_size_t)(colon - addr)) >= sizeof(host)) {
        return;
    }
    memcpy(host, addr, n);
    host[n] = '\0';
    c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    if (!c || c->err) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, B2BLOG(03030)
                      "pricing: Redis %s is unreachable; other nodes see the "
                      "change within " B2B_DIR_PRICING_STALENESS, addr);
        if (c) {
            redisFree(c);
        }
        return;
    }
    redisSetTimeout(c, tv);
    reply = redisCommand(c, "PUBLISH %s %llu", B2B_PRICING_CHANNEL,
                         (unsigned long long)version);
    if (reply) {
        freeReplyObject(reply);
    }
    redisFree(c);
}

/* Writes the change (rule statement + change log) in one transaction. */
static int write_change(b2b_req_t *req, ap_dbd_t *dbd, const char *label, int nargs,
                        const char **args, const char *action, const char *scope_kind,
                        apr_int64_t scope_id, const char **rule_id,
                        apr_uint64_t *version)
{
    request_rec *r = req->r;
    apr_dbd_transaction_t *trans = NULL;
    apr_array_header_t *rows = NULL, *vrows = NULL;
    const char *cargs[5];
    int rv;

    rv = apr_dbd_transaction_start(dbd->driver, r->pool, dbd->handle, &trans);
    if (rv) {
        return b2b_reply_db_down(r), DONE;
    }
    rows = b2b_db_select(r, dbd, label, nargs, args, NULL);
    if (rows && rows->nelts == 1) {
        *rule_id = APR_ARRAY_IDX(rows, 0, const char **)[0];
        cargs[0] = scope_kind;
        cargs[1] = i64(r->pool, scope_id);
        cargs[2] = *rule_id;
        cargs[3] = action;
        cargs[4] = r->user;
        vrows = b2b_db_select(r, dbd, "b2b_pr_change", 5, cargs, NULL);
    }
    if (!rows || rows->nelts != 1 || !vrows || vrows->nelts != 1) {
        apr_dbd_transaction_mode_set(dbd->driver, trans,
                                     APR_DBD_TRANSACTION_ROLLBACK);
        apr_dbd_transaction_end(dbd->driver, r->pool, trans);
        if (rows && rows->nelts == 0) {
            return b2b_reply_error(r, HTTP_NOT_FOUND, "rule_not_found",
                                   "No such price rule."), DONE;
        }
        /* constraint violations (overlaps, shapes the database refuses) */
        return b2b_reply_error(r, HTTP_CONFLICT, "rule_rejected",
                               "The database refused the rule (it may overlap an "
                               "existing one); nothing was changed."), DONE;
    }
    rv = apr_dbd_transaction_end(dbd->driver, r->pool, trans);
    if (rv) {
        return b2b_reply_error(r, HTTP_CONFLICT, "rule_rejected",
                               "The change could not be committed; nothing was "
                               "changed."), DONE;
    }
    *version = (apr_uint64_t)apr_atoi64(APR_ARRAY_IDX(vrows, 0, const char **)[0]);
    b2b_pricing_notify(r, *version);
    return OK;
}

static int reply_rule(b2b_req_t *req, ap_dbd_t *dbd, int status, const char *id,
                      apr_uint64_t version)
{
    rule_row_t rr;
    json_t *out;
    if (load_rule(req, dbd, id, &rr) != OK) {
        return OK;
    }
    out = rule_json(&rr);
    if (version) {
        json_object_set_new(out, "pricing_version", json_integer((json_int_t)version));
        apr_table_setn(req->r->headers_out, "X-B2B-Pricing-Version",
                       apr_psprintf(req->r->pool, "%" APR_UINT64_T_FMT, version));
    }
    if (status == HTTP_CREATED) {
        apr_table_setn(req->r->headers_out, "Location",
                       apr_pstrcat(req->r->pool, "/api/v1/admin/price-rules/", id, NULL));
    }
    return b2b_reply_json(req->r, status, out);
}

/* ---- endpoints ---------------------------------------------------------------- */



static int handle_list(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *kind = b2b_query_arg(r, "kind"), *account = b2b_query_arg(r, "account"),
               *sku = b2b_query_arg(r, "sku");
    const char *args[8];
    apr_array_header_t *rows;
    ap_dbd_t *dbd;
    json_t *items = json_array();
    int page, per_page, i;
    long total = 0;

    if (b2b_query_int(r, "page", 1, 1, 1000000, &page) != OK
        || b2b_query_int(r, "per_page", 50, 1, 200, &per_page) != OK) {
        json_decref(items);
        return OK;
    }
    if (!(dbd = b2b_db(r))) {
        json_decref(items);
        return b2b_reply_db_down(r);
    }
    args[0] = args[1] = kind ? kind : "";
    args[2] = args[3] = account ? account : "";
    args[4] = args[5] = sku ? sku : "";
    args[6] = apr_itoa(r->pool, per_page);
    args[7] = apr_itoa(r->pool, (page - 1) * per_page);
    rows = b2b_db_select(r, dbd, "b2b_pr_list", 8, args, NULL);
    if (!rows) {
        json_decref(items);
        return b2b_reply_db_down(r);
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        rule_row_t rr;
        row_to_rule(row, &rr);
        json_array_append_new(items, rule_json(&rr));
        total = atol(row[25]);
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:o,s:i,s:i,s:I}", "items", items,
                                                "page", page, "per_page", per_page,
                                                "total", (json_int_t)total));
}

static int handle_get(b2b_req_t *req)
{
    ap_dbd_t *dbd = b2b_db(req->r);
    char *end;
    if (!dbd) {
        return b2b_reply_db_down(req->r);
    }
    if (apr_strtoi64(req->params[0], &end, 10) <= 0 || *end) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "rule_not_found",
                               "No such price rule.");
    }
    return reply_rule(req, dbd, HTTP_OK, req->params[0], 0);
}

static int handle_create(b2b_req_t *req)
{
    request_rec *r = req->r;
    b2b_rule_spec_t spec;
    rule_row_t rr;
    const char *args[20], *id = NULL;
    apr_uint64_t version = 0;
    b2b_scope_t scope;
    ap_dbd_t *dbd;

    if (parse_spec(req, &spec) != OK) {
        return OK;
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    if (resolve_codes(req, dbd, &spec, &rr) != OK) {
        return OK;
    }
    rule_args(r->pool, &rr, args);
    scope = b2b_rule_scope(&rr.rule);
    if (write_change(req, dbd, "b2b_pr_insert", 20, args, "create",
                     scope_name(scope.kind), scope.id, &id, &version) != OK) {
        return OK;
    }
    return reply_rule(req, dbd, HTTP_CREATED, id, version);
}

/* The scope that covers both the old and the new place of a rule. */
static b2b_scope_t union_scope(const b2b_rule_t *a, const b2b_rule_t *b)
{
    b2b_scope_t sa = b2b_rule_scope(a), sb = b2b_rule_scope(b);
    if (sa.kind == sb.kind && sa.id == sb.id) {
        return sa;
    }
    sa.kind = B2B_SCOPE_ALL;
    sa.id = 0;
    return sa;
}

static int handle_update(b2b_req_t *req)
{
    request_rec *r = req->r;
    b2b_rule_spec_t spec;
    rule_row_t old, rr;
    const char *args[21], *id = NULL;
    apr_uint64_t version = 0;
    b2b_scope_t scope;
    ap_dbd_t *dbd;
    char *end;

    if (apr_strtoi64(req->params[0], &end, 10) <= 0 || *end) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "rule_not_found", "No such price rule.");
    }
    if (parse_spec(req, &spec) != OK) {
        return OK;
    }
    if (spec.id && spec.id != apr_atoi64(req->params[0])) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_field",
                               "id: the body names rule %" APR_INT64_T_FMT
                               ", the path rule %s.", (apr_int64_t)spec.id,
                               req->params[0]);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    if (load_rule(req, dbd, req->params[0], &old) != OK
        || resolve_codes(req, dbd, &spec, &rr) != OK) {
        return OK;
    }
    rule_args(r->pool, &rr, args);
    args[20] = req->params[0];
    scope = union_scope(&old.rule, &rr.rule);
    if (write_change(req, dbd, "b2b_pr_update", 21, args, "update",
                     scope_name(scope.kind), scope.id, &id, &version) != OK) {
        return OK;
    }
    return reply_rule(req, dbd, HTTP_OK, id, version);
}

static int handle_delete(b2b_req_t *req)
{
    request_rec *r = req->r;
    rule_row_t old;
    const char *args[1] = { req->params[0] }, *id = NULL;
    apr_uint64_t version = 0;
    b2b_scope_t scope;
    ap_dbd_t *dbd;
    char *end;

    if (apr_strtoi64(req->params[0], &end, 10) <= 0 || *end) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "rule_not_found", "No such price rule.");
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    if (load_rule(req, dbd, req->params[0], &old) != OK) {
        return OK;
    }
    scope = b2b_rule_scope(&old.rule);
    if (write_change(req, dbd, "b2b_pr_delete", 1, args, "delete",
                     scope_name(scope.kind), scope.id, &id, &version) != OK) {
        return OK;
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:s,s:b,s:I}", "id", id,
                                               "deleted", 1, "pricing_version",
                                               (json_int_t)version));
}

/* ---- preview ------------------------------------------------------------------ */

/* Every rule row of the database except `skip_id`, plus `add` (may be NULL). */
typedef struct preview_t {
    b2b_input_t *in;
    void *buf;
} preview_t;

static apr_status_t preview_cleanup(void *data)
{
    preview_t *pv = data;
    b2b_input_free(pv->in);
    free(pv->buf);
    return APR_SUCCESS;
}

/* Input rows with a rule removed: the loader reads all, then we rebuild the
 * set without it. Simple and exact; previews are rare and admin-only. */
static int add_rule_struct(b2b_input_t *in, const b2b_rule_t *rule, const b2b_rule_spec_t *s)
{
    b2b_rule_t x = *rule;
    b2b_input_error_t err;
    x.currency = s->currency[0] ? s->currency : NULL;
    x.has = s->has;
    x.price_minor = s->price_minor;
    x.discount_bp = s->discount_bp;
    x.amount_off_minor = s->amount_off_minor;
    x.min_qty = s->min_qty;
    x.promo_code = s->promo_code[0] ? s->promo_code : NULL;
    x.stackable = s->stackable;
    x.valid_from = s->valid_from;
    x.valid_to = s->valid_to;
    x.country = s->country[0] ? s->country : NULL;
    x.region = s->region[0] ? s->region : NULL;
    x.tax_class = s->tax_class[0] ? s->tax_class : NULL;
    x.rate_bp = s->rate_bp;
    x.to_currency = s->to_currency[0] ? s->to_currency : NULL;
    x.fx_rate_micro = s->fx_rate_micro;
    memset(&err, 0, sizeof(err));
    return b2b_input_add_rule(in, &x, &err) == B2B_OK ? 0 : -1;
}

static json_t *money(apr_pool_t *p, int64_t minor, int digits, const char *currency)
{
    char buf[40];
    (void)p;
    b2b_money_format(minor, digits, buf, sizeof(buf));
    return json_pack("{s:s,s:s}", "amount", buf, "currency", currency);
}

static int handle_preview(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *del = b2b_query_arg(r, "delete");
    b2b_rule_spec_t spec;
    rule_row_t old, rr;
    int have_old = 0, have_new = 0, i, j, changed = 0;
    const char *remove_id = NULL;
    apr_array_header_t *accts, *skus;
    const char *aargs[9], *sargs[4];
    ap_dbd_t *dbd;
    preview_t *pv;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_uint64_t cap;
    b2b_build_stats_t stats;
    b2b_build_options_t opt = { 0 };
    const void *cur;
    unsigned slot;
    b2b_status_t st;
    json_t *samples, *out;
    const b2b_rule_t *shape;
    char why[200];
    int rv;

    if (!(dbd = b2b_db(r))) {
        return b2b_reply_db_down(r);
    }
    if (del) {
        char *end;
        if (apr_strtoi64(del, &end, 10) <= 0 || *end) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_parameter",
                                   "delete must be a rule id.");
        }
        if (load_rule(req, dbd, del, &old) != OK) {
            return OK;
        }
        have_old = 1;
        remove_id = del;
    }
    else {
        if (req->raw_len == 0) {
            return b2b_reply_error(r, HTTP_BAD_REQUEST, "missing_body",
                                   "Send the rule to preview, or ?delete={id}.");
        }
        if (parse_spec(req, &spec) != OK || resolve_codes(req, dbd, &spec, &rr) != OK) {
            return OK;
        }
        have_new = 1;
        if (spec.id) {
            remove_id = i64(r->pool, spec.id);
            if (load_rule(req, dbd, remove_id, &old) != OK) {
                return OK;
            }
            have_old = 1;
        }
    }

    /* the candidate rule set: everything in the database, changed */
    pv = apr_pcalloc(r->pool, sizeof(*pv));
    apr_pool_cleanup_register(r->pool, pv, preview_cleanup, apr_pool_cleanup_null);
    if (!(pv->in = b2b_input_new())) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "no_memory",
                               "Not enough memory for a preview.");
    }
    rv = b2b_pricing_load(dbd->driver, dbd->handle, r->pool, B2B_SQL_CURRENCIES, NULL,
                          0, NULL, pv->in, B2B_ROW_CURRENCY, why, sizeof(why));
    if (rv >= 0) {
        rv = b2b_pricing_load(dbd->driver, dbd->handle, r->pool, B2B_SQL_ACCOUNTS,
                              NULL, 0, NULL, pv->in, B2B_ROW_ACCOUNT, why, sizeof(why));
    }
    if (rv >= 0) {
        rv = b2b_pricing_load(dbd->driver, dbd->handle, r->pool, B2B_SQL_PRODUCTS,
                              NULL, 0, NULL, pv->in, B2B_ROW_PRODUCT, why, sizeof(why));
    }
    if (rv < 0) {
        return b2b_reply_db_down(r);
    }
    /* rules: all but the one being replaced or removed */
    rv = apr_dbd_select(dbd->driver, r->pool, dbd->handle, &res,
                        B2B_SQL_RULES_ALL, 0);
    if (rv) {
        return b2b_reply_db_down(r);
    }
    {
        apr_pool_t *rp;
        const char *vals[B2B_RULE_COL_COUNT];
        apr_pool_create(&rp, r->pool);
        while (apr_dbd_get_row(dbd->driver, rp, res, &row, -1) == 0) {
            b2b_input_error_t err;
            for (j = 0; j < B2B_RULE_COL_COUNT; j++) {
                const char *v = apr_dbd_get_entry(dbd->driver, row, j);
                vals[j] = v && *v ? v : NULL;     /* "" is SQL NULL here */
            }
            if (vals[0] && (!remove_id || strcmp(vals[0], remove_id))) {
                b2b_input_add_rule_text(pv->in, vals, &err);
            }
            apr_pool_clear(rp);
        }
        apr_pool_destroy(rp);
    }
    if (have_new) {
        rr.rule.id = spec.id ? spec.id : APR_INT64_C(9000000000000000000);
        if (add_rule_struct(pv->in, &rr.rule, &rr.spec) != 0) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_rule",
                                   "The engine cannot compile this rule.");
        }
    }
    if (b2b_snapshot_size(pv->in, &cap) != B2B_OK
        || !(pv->buf = aligned_alloc(64, (size_t)((cap + 63) & ~(apr_uint64_t)63)))) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "no_memory",
                               "Not enough memory for a preview.");
    }
    st = b2b_snapshot_build(pv->in, &opt, pv->buf, (size_t)((cap + 63) & ~(apr_uint64_t)63),
                            &stats);
    if (st != B2B_OK) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_rule",
                               "The change does not compile: %s.", b2b_status_name(st));
    }

    /* who is reached: accounts x SKUs of the new and the old shape */
    shape = have_new ? &rr.rule : &old.rule;
    {
        const b2b_rule_spec_t *s = have_new ? &rr.spec : &old.spec;
        const char *kind = b2b_kind_name(shape->kind);
        const char *acct = shape->account_id ? i64(r->pool, shape->account_id) : "";
        aargs[0] = kind; aargs[1] = acct; aargs[2] = *acct ? acct : "0";
        aargs[3] = kind;
        aargs[4] = shape->price_list_id ? i64(r->pool, shape->price_list_id) : "0";
        aargs[5] = kind; aargs[6] = s->country; aargs[7] = s->region; aargs[8] = s->region;
        sargs[0] = shape->product_id ? i64(r->pool, shape->product_id) : "";
        sargs[1] = *sargs[0] ? sargs[0] : "0";
        sargs[2] = shape->product_group_id ? i64(r->pool, shape->product_group_id) : "";
        sargs[3] = *sargs[2] ? sargs[2] : "0";
    }
    accts = b2b_db_select(r, dbd, "b2b_pr_affected_accounts", 9, aargs, NULL);
    skus = b2b_db_select(r, dbd, "b2b_pr_affected_skus", 4, sargs, NULL);
    if (!accts || !skus) {
        return b2b_reply_db_down(r);
    }

    samples = json_array();
    cur = b2b_pricing_acquire(&slot);
    for (i = 0; i < accts->nelts && cur; i++) {
        for (j = 0; j < skus->nelts; j++) {
            const char *acode = APR_ARRAY_IDX(accts, i, const char **)[1];
            const char *sku = APR_ARRAY_IDX(skus, j, const char **)[1];
            b2b_query_t q;
            b2b_quote_t before, after;
            b2b_status_t sb, sa;
            memset(&q, 0, sizeof(q));
            q.account_code = acode;
            q.account_index = -1;
            q.sku = sku;
            q.qty = (shape->has & B2B_RULE_HAS_MIN_QTY) && shape->min_qty > 0
                    ? shape->min_qty : 1;
            q.promo_code = shape->kind == B2B_KIND_PROMO && rr.spec.promo_code[0]
                           ? (have_new ? rr.spec.promo_code : old.spec.promo_code) : NULL;
            q.as_of = (int64_t)apr_time_sec(r->request_time);
            sb = b2b_resolve(cur, &q, &before);
            sa = b2b_resolve(pv->buf, &q, &after);
            if (sb == B2B_OK && sa == B2B_OK && before.unit_minor != after.unit_minor) {
                changed++;
            }
            if (json_array_size(samples) < 12) {
                json_array_append_new(samples, json_pack("{s:s,s:s,s:I,s:o,s:o}",
                    "account", acode, "sku", sku, "qty", (json_int_t)q.qty,
                    "before", sb == B2B_OK ? money(r->pool, before.unit_minor,
                                                   before.minor_digits, before.currency)
                                           : json_string(b2b_status_name(sb)),
                    "after", sa == B2B_OK ? money(r->pool, after.unit_minor,
                                                  after.minor_digits, after.currency)
                                          : json_string(b2b_status_name(sa))));
            }
        }
    }
    if (cur) {
        b2b_pricing_release(slot);
    }
    {
        long na = accts->nelts ? atol(APR_ARRAY_IDX(accts, 0, const char **)[0]) : 0;
        long ns = skus->nelts ? atol(APR_ARRAY_IDX(skus, 0, const char **)[0]) : 0;
        out = json_pack("{s:s,s:{s:I,s:I,s:I},s:i,s:i,s:o,s:o,s:o}",
                        "action", del ? "delete" : have_old ? "update" : "create",
                        "affected", "accounts", (json_int_t)na, "skus", (json_int_t)ns,
                        "pairs", (json_int_t)na * ns,
                        "sampled_pairs", (int)(accts->nelts * skus->nelts),
                        "sampled_changed", changed,
                        "samples", samples,
                        "rule", have_new ? rule_json(&rr) : json_null(),
                        "replaces", have_old ? rule_json(&old) : json_null());
    }
    return b2b_reply_json(r, HTTP_OK, out);
}

void b2b_pricing_admin_register(void)
{
    b2b_db_prepare("b2b_pr_lookup", SQL_LOOKUP);
    b2b_db_prepare("b2b_pr_insert", SQL_INSERT);
    b2b_db_prepare("b2b_pr_update", SQL_UPDATE);
    b2b_db_prepare("b2b_pr_delete", SQL_DELETE);
    b2b_db_prepare("b2b_pr_get", SQL_GET);
    b2b_db_prepare("b2b_pr_list", SQL_LIST);
    b2b_db_prepare("b2b_pr_change", SQL_CHANGE);
    b2b_db_prepare("b2b_pr_affected_accounts", SQL_AFFECTED_ACCOUNTS);
    b2b_db_prepare("b2b_pr_affected_skus", SQL_AFFECTED_SKUS);

    b2b_route_add("GET", "/admin/price-rules", handle_list, B2B_ROUTE_ADMIN);
    b2b_route_add("POST", "/admin/price-rules", handle_create,
                  B2B_ROUTE_ADMIN | B2B_ROUTE_JSON_BODY | B2B_ROUTE_UNPARSED);
    b2b_route_add("POST", "/admin/price-rules/preview", handle_preview,
                  B2B_ROUTE_ADMIN | B2B_ROUTE_JSON_BODY | B2B_ROUTE_UNPARSED);
    b2b_route_add("GET", "/admin/price-rules/{id}", handle_get, B2B_ROUTE_ADMIN);
    b2b_route_add("PUT", "/admin/price-rules/{id}", handle_update,
                  B2B_ROUTE_ADMIN | B2B_ROUTE_JSON_BODY | B2B_ROUTE_UNPARSED);
    b2b_route_add("DELETE", "/admin/price-rules/{id}", handle_delete, B2B_ROUTE_ADMIN);
}
