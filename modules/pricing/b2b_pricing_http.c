/*
 * b2b_pricing_http.c: POST /api/v1/prices/quote[?explain=1].
 *
 * Every line is priced from the shared snapshot (no database on this path)
 * for the acting account; the answer names the generation it was priced at,
 * in the body and in X-B2B-Pricing-Generation, so a cart or an order can
 * say which prices it saw. With "B2BPricingEngine sql" the same endpoint
 * asks the SQL reference resolver instead (the benchmark baseline).
 */
#include "b2b_pricing_shell.h"
#include "b2b_pricing_json.h"
#include "b2b_catalog_api.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2b_pricing);

#define SQL_REFERENCE \
    "SELECT unit_minor, net_minor, tax_minor, gross_minor, currency, " \
    "coalesce(error, '') FROM b2b_price_reference(%s, %s, %s::int, " \
    "nullif(%s, ''), nullif(%s, ''), to_timestamp(%s::bigint))"

/* The catalog's access check, found once all modules are loaded (NULL: the
 * catalog is not in this server, every SKU in the snapshot may be quoted). */
static APR_OPTIONAL_FN_TYPE(b2b_catalog_visible) *visible;

void b2b_pricing_http_optional_fns(void)
{
    visible = APR_RETRIEVE_OPTIONAL_FN(b2b_catalog_visible);
}

/* Sends a mapped error (the renderer adds the field at fault). */
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

/* Prices one line through the SQL reference (B2BPricingEngine sql). */
static b2b_status_t reference_line(b2b_req_t *req, ap_dbd_t *dbd,
                                   const b2b_query_t *q, b2b_quote_t *out)
{
    request_rec *r = req->r;
    const char *args[6];
    apr_array_header_t *rows;
    const char **row;

    args[0] = q->account_code;
    args[1] = q->sku;
    args[2] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)q->qty);
    args[3] = q->promo_code ? q->promo_code : "";
    args[4] = q->currency ? q->currency : "";
    args[5] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, (apr_int64_t)q->as_of);
    rows = b2b_db_select(r, dbd, "b2b_price_reference", 6, args, NULL);
    if (!rows || rows->nelts != 1) {
        return B2B_ERR_BAD_SNAPSHOT;
    }
    row = APR_ARRAY_IDX(rows, 0, const char **);
    memset(out, 0, sizeof(*out));
    if (row[5] && *row[5]) {
        int i;
        for (i = 0; i < B2B_STATUS_COUNT; i++) {
            if (!strcmp(b2b_status_name((b2b_status_t)i), row[5])) {
                return (b2b_status_t)i;
            }
        }
        return B2B_ERR_BAD_VALUE;
    }
    out->unit_minor = apr_atoi64(row[0]);
    out->net_minor = apr_atoi64(row[1]);
    out->tax_minor = apr_atoi64(row[2]);
    out->gross_minor = apr_atoi64(row[3]);
    apr_cpystrn(out->currency, row[4] ? row[4] : "", sizeof(out->currency));
    return B2B_OK;
}

static int handle_quote(b2b_req_t *req)
{
    request_rec *r = req->r;
    b2b_pricing_conf_t *conf = b2b_pricing_conf(r->server);
    b2b_quote_request_t *qr = apr_palloc(r->pool, sizeof(*qr));
    b2b_json_error_t jerr;
    b2b_quote_t *quotes;
    const void *snap = NULL;
    unsigned slot = 0;
    ap_dbd_t *dbd = NULL;
    apr_uint64_t generation = 0;
    int explain = r->args && (ap_strstr_c(r->args, "explain=1")
                              || ap_strstr_c(r->args, "explain=true"));
    int use_sql = conf->engine == B2B_ENGINE_SQL;
    size_t i;
    int32_t acting;
    char *text;
    b2b_status_t st;

    memset(&jerr, 0, sizeof(jerr));
    if (b2b_quote_request_parse(req->raw_body, req->raw_len, qr, &jerr) != B2B_OK) {
        return reply_json_error(r, &jerr);
    }
    if (!qr->has_as_of) {
        qr->as_of = (int64_t)apr_time_sec(r->request_time);
    }
    quotes = apr_pcalloc(r->pool, sizeof(*quotes) * (qr->nlines ? qr->nlines : 1));

    if (use_sql) {
        if (!(dbd = b2b_db(r))) {
            apr_table_setn(r->err_headers_out, "Retry-After", "5");
            return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                                   "The portal database is not answering; try again.");
        }
    }
    else if (!(snap = b2b_pricing_acquire(&slot))) {
        apr_table_setn(r->err_headers_out, "Retry-After", "2");
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "pricing_not_ready",
                               "Prices are being compiled; try again in a moment.");
    }
    else {
        generation = b2b_snapshot_generation(snap);
    }

    /* a product this account may not see is not found here either, exactly
     * as in the catalog (the catalog owns the access rules) */
    {
        for (i = 0; visible && i < qr->nlines; i++) {
            int v = visible(r, req->acting->id, qr->lines[i].sku);
            if (v != 1) {
                if (snap) {
                    b2b_pricing_release(slot);
                }
                if (v < 0) {
                    return b2b_reply_db_down(r);
                }
                return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku",
                                       "lines[%lu].sku: no product %s.",
                                       (unsigned long)i, qr->lines[i].sku);
            }
        }
    }

    /* the acting account once per quote, then every line by index */
    acting = snap ? b2b_snapshot_find_account(snap, req->acting->code,
                                              strlen(req->acting->code)) : -1;
    for (i = 0; i < qr->nlines; i++) {
        b2b_query_t q;
        memset(&q, 0, sizeof(q));
        q.account_code = req->acting->code;
        q.account_index = acting;
        q.sku = qr->lines[i].sku;
        q.qty = qr->lines[i].qty;
        q.promo_code = qr->has_promo_code ? qr->promo_code : NULL;
        q.currency = qr->has_currency ? qr->currency : NULL;
        q.as_of = qr->as_of;
        st = use_sql ? reference_line(req, dbd, &q, &quotes[i])
                     : b2b_resolve(snap, &q, &quotes[i]);
        if (st != B2B_OK) {
            if (snap) {
                b2b_pricing_release(slot);
            }
            if (st == B2B_ERR_BAD_SNAPSHOT) {
                return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE,
                                       "pricing_unavailable",
                                       "Prices cannot be computed right now.");
            }
            if (st == B2B_ERR_UNKNOWN_SKU) {
                /* the same answer as for a product this account may not see */
                return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku",
                                       "lines[%lu].sku: no product %s.",
                                       (unsigned long)i, qr->lines[i].sku);
            }
            b2b_quote_line_error(st, i, &jerr);
            if (jerr.status >= 500) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(03020)
                              "quote for %s failed: %s", req->acting->code,
                              b2b_status_name(st));
                return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE,
                                       "pricing_unavailable",
                                       "Prices cannot be computed right now.");
            }
            return reply_json_error(r, &jerr);
        }
    }
    if (snap) {
        b2b_pricing_release(slot);
        __atomic_add_fetch(&b2b_pricing_store()->quotes, qr->nlines, __ATOMIC_RELAXED);
    }

    text = b2b_quote_render(qr, quotes, generation, explain, &jerr);
    if (!text) {
        return reply_json_error(r, &jerr);
    }
    apr_table_setn(r->headers_out, "X-B2B-Pricing-Generation",
                   apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, generation));
    b2b_reply_json_text(r, HTTP_OK, text);
    free(text);
    return OK;
}

/* Only with "B2BPricingEngine sql": mod_dbd prepares every statement on
 * each new connection, and one that fails (the reference function missing)
 * would take the whole pool down with it. */
void b2b_pricing_http_prepare(server_rec *s)
{
    if (b2b_pricing_conf(s)->engine == B2B_ENGINE_SQL) {
        b2b_db_prepare("b2b_price_reference", SQL_REFERENCE);
    }
}

void b2b_pricing_routes_register(void)
{
    b2b_route_add("POST", "/prices/quote", handle_quote,
                  B2B_ROUTE_JSON_BODY | B2B_ROUTE_UNPARSED);
}
