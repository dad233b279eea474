/*
 * b2b_checkout.c: POST /orders, checkout of the cart (or of lines given in
 * the body: a "direct order" for API clients), in one transaction.
 *
 * Before the transaction (no locks held): read the cart and any order that
 * already has this Idempotency-Key, re-price every line from the pricing
 * snapshot (the shared memory, no database). Then, in one transaction:
 *   1. reserve stock: rows locked in product order, a conditional update
 *      that never takes more than on_hand - reserved; a product that allows
 *      backorder takes what there is and backorders the rest;
 *   2. insert order, lines, history and (unless it needs approval) the
 *      outbox row in one statement; the approval rules of the account and
 *      its ancestors decide the status there; ON CONFLICT on (user_id,
 *      idempotency_key) makes a racing duplicate insert nothing;
 *   3. charge the credit of the credit-holding ancestor with a conditional
 *      UPDATE (used + charge <= limit), last, so that hot row is locked for
 *      one round trip only.
 * Any failure rolls everything back. A request whose key won the race
 * elsewhere rolls back and answers that order.
 */
#include "b2b_orders.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(b2bportal);

typedef struct checkout_line_t {
    b2b_product_info_t product;
    long qty;
    apr_int64_t cart_price;       /* -1: not from a cart, or never priced */
    const char *cart_currency;
    b2b_priced_t priced;          /* with the promo code, if any */
    apr_int64_t base_unit;        /* without the promo: what the cart shows */
    long reserved, backordered;
} checkout_line_t;

typedef struct checkout_t {
    b2b_req_t *req;
    ap_dbd_t *dbd;
    const char *key, *po, *promo, *note;
    int direct;
    apr_int64_t cart_id;
    apr_array_header_t *lines;    /* checkout_line_t */
    apr_int64_t net, tax, gross;
    const char *currency;
    int digits;
    apr_uint64_t generation;
    b2b_promo_status_t promo_status;
    apr_int64_t existing_id;
    int existing_same;
} checkout_t;

/* ---- input --------------------------------------------------------------------- */

static apr_size_t utf8_chars(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static int has_control(const char *s, int allow_newlines)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
            || c == 0x7f) {
            return 1;
        }
    }
    return 0;
}

/* A string member (NULL if absent or null); *bad if it is another type or
 * holds a NUL byte. */
static const char *body_string(json_t *body, const char *name, int *bad)
{
    json_t *v = json_object_get(body, name);
    *bad = 0;
    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

static int key_ok(const char *k)
{
    apr_size_t n = strlen(k);
    if (n < 1 || n > 255) {
        return 0;
    }
    for (; *k; k++) {
        if ((unsigned char)*k < 0x21 || (unsigned char)*k > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int promo_ok(const char *s)
{
    apr_size_t n = 0;
    if (!apr_isalnum(s[0])) {
        return 0;
    }
    for (; s[n]; n++) {
        if (!apr_isalnum(s[n]) && s[n] != '_' && s[n] != '-') {
            return 0;
        }
    }
    return n <= 32;
}

static int reply_422(request_rec *r, const char *code, const char *msg)
{
    return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, code, "%s", msg);
}

/* Reads the body into ck; OK to go on, or an answered error. */
static int read_input(checkout_t *ck)
{
    b2b_req_t *req = ck->req;
    request_rec *r = req->r;
    json_t *body = req->body, *lines;
    int bad;

    ck->key = apr_table_get(r->headers_in, "Idempotency-Key");
    if (!ck->key || !*ck->key) {
        return b2b_reply_error(r, HTTP_BAD_REQUEST, "idempotency_key_required",
                               "Send an Idempotency-Key header (a unique string per "
                               "order, e.g. a UUID); retries send the same one.");
    }
    if (!key_ok(ck->key)) {
        return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_idempotency_key",
                               "The Idempotency-Key must be 1 to 255 visible ASCII "
                               "characters.");
    }
    if (!json_is_object(body)) {
        return reply_422(r, "bad_body", "Send an object: {\"po_number\": \"PO-1\"}.");
    }
    ck->po = body_string(body, "po_number", &bad);
    if (bad || !ck->po) {
        return reply_422(r, "po_number_required", "po_number is required (a string).");
    }
    if (utf8_chars(ck->po) > 64 || has_control(ck->po, 0)) {
        return reply_422(r, "bad_po_number",
                         "po_number must be 1 to 64 characters, without control characters.");
    }
    {
        const char *t = ck->po;
        while (*t == ' ') t++;
        if (!*t) {
            return reply_422(r, "bad_po_number", "po_number must not be blank.");
        }
    }
    ck->promo = body_string(body, "promo_code", &bad);
    if (bad || (ck->promo && *ck->promo && !promo_ok(ck->promo))) {
        return reply_422(r, "bad_promo_code",
                         "promo_code must be letters, digits, _ or -, at most 32.");
    }
    if (ck->promo && !*ck->promo) {
        ck->promo = NULL;
    }
    ck->note = body_string(body, "note", &bad);
    if (bad || (ck->note && (utf8_chars(ck->note) > 4000 || has_control(ck->note, 1)))) {
        return reply_422(r, "bad_note", "note must be text of at most 4000 characters.");
    }
    if (ck->note && !*ck->note) {
        ck->note = NULL;
    }

    lines = json_object_get(body, "lines");
    if (lines && !json_is_null(lines)) {
        size_t i, n = json_is_array(lines) ? json_array_size(lines) : 0;
        apr_hash_t *seen = apr_hash_make(r->pool);
        if (!json_is_array(lines) || n == 0) {
            return reply_422(r, "bad_lines",
                             "lines must be a non-empty array of {\"sku\", \"qty\"}.");
        }
        if ((int)n > b2b_cart_max_lines(r)) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "too_many_lines",
                                   "An order holds at most %d lines.", b2b_cart_max_lines(r));
        }
        ck->direct = 1;
        ck->lines = apr_array_make(r->pool, (int)n, sizeof(checkout_line_t));
        for (i = 0; i < n; i++) {
            json_t *l = json_array_get(lines, i), *q;
            const char *sku;
            char *u;
            int k;
            checkout_line_t *cl;
            sku = json_is_object(l) ? body_string(l, "sku", &bad) : NULL;
            q = json_is_object(l) ? json_object_get(l, "qty") : NULL;
            if (!sku) {
                return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_lines",
                                       "lines[%lu].sku is required.", (unsigned long)i);
            }
            if (!q || !json_is_integer(q) || json_integer_value(q) < 1
                || json_integer_value(q) > B2B_QO_QTY_MAX) {
                return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_quantity",
                                       "lines[%lu].qty must be a whole number from 1 "
                                       "to 1000000.", (unsigned long)i);
            }
            u = apr_pstrdup(r->pool, sku);
            for (k = 0; u[k]; k++) {
                u[k] = (char)apr_toupper(u[k]);
            }
            if (!b2b_qo_sku_valid(u)) {
                return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku",
                                       "lines[%lu].sku: no product %s.", (unsigned long)i,
                                       strlen(sku) <= 64 ? sku : "with that SKU");
            }
            if (apr_hash_get(seen, u, APR_HASH_KEY_STRING)) {
                return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "duplicate_sku",
                                       "lines[%lu]: %s appears twice; send one line per SKU.",
                                       (unsigned long)i, u);
            }
            apr_hash_set(seen, u, APR_HASH_KEY_STRING, u);
            cl = apr_array_push(ck->lines);
            memset(cl, 0, sizeof(*cl));
            cl->product.sku = u;
            cl->qty = (long)json_integer_value(q);
            cl->cart_price = -1;
        }
    }
    return DECLINED;
}

/* ---- loading ---------------------------------------------------------------------- */

/* Reads the existing order for the key and the lines; OK or answered. */
static int load(checkout_t *ck)
{
    b2b_req_t *req = ck->req;
    request_rec *r = req->r;
    const char *args[9];
    apr_array_header_t *rows;
    apr_hash_t *by_sku = NULL;
    int i, n = 0;

    args[0] = b2b_i64(r->pool, req->acting->id);
    args[1] = ck->po;
    args[2] = ck->promo ? ck->promo : "";
    args[3] = ck->note ? ck->note : "";
    args[4] = b2b_i64(r->pool, req->who->user_id);
    args[5] = ck->key;
    if (ck->direct) {
        const char **skus = apr_palloc(r->pool, sizeof(*skus) * ck->lines->nelts);
        by_sku = apr_hash_make(r->pool);
        for (i = 0; i < ck->lines->nelts; i++) {
            checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
            skus[i] = cl->product.sku;
            apr_hash_set(by_sku, cl->product.sku, APR_HASH_KEY_STRING, cl);
        }
        args[6] = b2b_pg_array_text(r->pool, skus, ck->lines->nelts);
        rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_load_direct", 7, args);
    }
    else {
        args[6] = args[4];
        args[7] = args[0];
        rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_load_cart", 8, args);
        ck->lines = apr_array_make(r->pool, rows && rows->nelts ? rows->nelts : 1,
                                   sizeof(checkout_line_t));
    }
    if (!rows) {
        return b2b_orders_db_unavailable(r);
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        checkout_line_t *cl;
        if (row[0][0] == 'o') {
            ck->existing_id = apr_atoi64(row[1]);
            ck->existing_same = !strcmp(row[3], "true");
            continue;
        }
        if (ck->direct) {
            cl = apr_hash_get(by_sku, row[2], APR_HASH_KEY_STRING);
            if (!cl) {
                continue;
            }
            n++;
        }
        else {
            cl = apr_array_push(ck->lines);
            memset(cl, 0, sizeof(*cl));
            cl->qty = atol(row[4]);
            cl->cart_price = apr_atoi64(row[5]);
            cl->cart_currency = row[6];
            ck->cart_id = apr_atoi64(row[11]);
        }
        cl->product.id = apr_atoi64(row[1]);
        cl->product.sku = row[2];
        cl->product.name = row[3];
        cl->product.group_id = apr_atoi64(row[7]);
        cl->product.category = row[8];
        cl->product.allow_backorder = !strcmp(row[9], "true");
        cl->product.active = !strcmp(row[10], "true");
    }
    if (ck->direct && !ck->existing_id && n < ck->lines->nelts) {
        for (i = 0; i < ck->lines->nelts; i++) {
            checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
            if (!cl->product.id) {
                return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku",
                                       "lines[%d].sku: no product %s.", i, cl->product.sku);
            }
        }
    }
    return DECLINED;
}

/* ---- pricing ------------------------------------------------------------------------ */

static int price_all(checkout_t *ck, APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote)
{
    b2b_req_t *req = ck->req;
    request_rec *r = req->r;
    int i;

    for (i = 0; i < ck->lines->nelts; i++) {
        checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
        const b2b_quote_t *q;
        if (!cl->product.active || !b2b_product_visible(req, req->acting, &cl->product)) {
            return b2b_orders_error_details(r, HTTP_CONFLICT, "line_unavailable",
                       json_pack("{s:s}", "sku", cl->product.sku),
                       "%s can no longer be ordered by this account; remove it "
                       "from the cart.", cl->product.sku);
        }
        b2b_orders_price(quote, r, req->acting->code, cl->product.sku, cl->qty,
                         ck->promo, &cl->priced);
        if (cl->priced.status != B2B_OK) {
            return b2b_orders_price_error(r, cl->product.sku, cl->priced.status);
        }
        q = &cl->priced.quote;
        if (i == 0) {
            ck->currency = apr_pstrdup(r->pool, q->currency);
            ck->digits = q->minor_digits;
            ck->generation = cl->priced.generation;
            ck->promo_status = q->promo;
            if (ck->promo && q->promo == B2B_PROMO_UNKNOWN_CODE) {
                return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "unknown_promo_code",
                                       "There is no promotion with the code %s.",
                                       ck->promo);
            }
        }
        else if (strcmp(ck->currency, q->currency)) {
            /* every line is priced in the account's currency: never here */
            return b2b_orders_pricing_unavailable(r);
        }
        if (q->promo == B2B_PROMO_APPLIED) {
            ck->promo_status = B2B_PROMO_APPLIED;
        }
        if (cl->priced.generation > ck->generation) {
            ck->generation = cl->priced.generation;
        }
        cl->base_unit = q->unit_minor;
        if (ck->promo && cl->cart_price >= 0) {
            /* what the cart shows is the price without the promo */
            b2b_priced_t base;
            b2b_orders_price(quote, r, req->acting->code, cl->product.sku, cl->qty,
                             NULL, &base);
            if (base.status == B2B_OK) {
                cl->base_unit = base.quote.unit_minor;
            }
        }
        if (b2b_money_add(ck->net, q->net_minor, &ck->net) != B2B_OK
            || b2b_money_add(ck->tax, q->tax_minor, &ck->tax) != B2B_OK
            || b2b_money_add(ck->gross, q->gross_minor, &ck->gross) != B2B_OK) {
            return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "amount_too_large",
                                   "The order total is too large.");
        }
    }
    return DECLINED;
}

static int price_changed(const checkout_line_t *cl, const char *currency)
{
    return cl->cart_price >= 0
           && (cl->cart_price != cl->base_unit || strcmp(cl->cart_currency, currency));
}

/* ---- the answer ------------------------------------------------------------------------ */

static json_t *money(const checkout_t *ck, apr_int64_t v)
{
    return b2b_money_json(v, ck->digits, ck->currency);
}

static json_t *checkout_json(checkout_t *ck, apr_int64_t id, const char *status,
                             const char *created_at, const json_t *credit)
{
    json_t *lines = json_array(), *changes = json_array(), *out;
    int i;
    for (i = 0; i < ck->lines->nelts; i++) {
        checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
        const b2b_quote_t *q = &cl->priced.quote;
        int changed = price_changed(cl, ck->currency);
        json_t *jl = json_pack("{s:i,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:b}",
                               "line_no", i + 1, "sku", cl->product.sku,
                               "name", cl->product.name, "qty", (json_int_t)cl->qty,
                               "unit_price", money(ck, q->unit_minor),
                               "net", money(ck, q->net_minor),
                               "tax", money(ck, q->tax_minor),
                               "gross", money(ck, q->gross_minor),
                               "reserved_qty", (json_int_t)cl->reserved,
                               "backordered_qty", (json_int_t)cl->backordered,
                               "price_changed", changed);
        if (changed) {
            json_object_set_new(jl, "previous_unit_price",
                                b2b_money_json(cl->cart_price, ck->digits, cl->cart_currency));
            json_array_append_new(changes, json_pack("{s:s,s:o,s:o}", "sku", cl->product.sku,
                                  "previous_unit_price",
                                  b2b_money_json(cl->cart_price, ck->digits, cl->cart_currency),
                                  "unit_price", b2b_money_json(cl->base_unit, ck->digits,
                                                               ck->currency)));
        }
        json_array_append_new(lines, jl);
    }
    out = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:{s:o,s:o,s:o},s:I,s:b,s:o,s:s,s:o,s:o}",
                    "id", (json_int_t)id, "status", status, "po_number", ck->po,
                    "account", ck->req->acting->code, "placed_by", ck->req->who->username,
                    "currency", ck->currency, "lines", lines,
                    "totals", "net", money(ck, ck->net), "tax", money(ck, ck->tax),
                    "gross", money(ck, ck->gross),
                    "pricing_generation", (json_int_t)ck->generation,
                    "approval_required", !strcmp(status, "pending_approval"),
                    "price_changes", changes,
                    "created_at", created_at,
                    "credit", credit ? json_deep_copy(credit) : json_null(),
                    "promo", ck->promo ? json_pack("{s:s,s:s}", "code", ck->promo, "status",
                                                   b2b_promo_status_name(ck->promo_status))
                                       : json_null());
    if (out) {
        json_object_set_new(out, "prices_changed", json_boolean(json_array_size(changes) > 0));
        json_object_set_new(out, "promo_code", ck->promo ? json_string(ck->promo) : json_null());
        json_object_set_new(out, "note", ck->note ? json_string(ck->note) : json_null());
    }
    return out;
}

/* The order this key already made, answered as the first answer was. */
static int replay(checkout_t *ck, apr_int64_t id, int same_body)
{
    request_rec *r = ck->req->r;
    json_t *out;
    int status;
    if (!same_body) {
        return b2b_orders_error_details(r, HTTP_UNPROCESSABLE_ENTITY,
                   "idempotency_key_reused", json_pack("{s:I}", "order_id", (json_int_t)id),
                   "This Idempotency-Key was used for order %" APR_INT64_T_FMT " with "
                   "another account, PO number, promo code or note; use a new key for a "
                   "new order.", id);
    }
    out = b2b_order_detail(ck->req, ck->dbd, id, 0, &status);
    if (!out) {
        return b2b_orders_db_unavailable(r);
    }
    json_object_set_new(out, "replayed", json_true());
    apr_table_setn(r->headers_out, "Idempotent-Replayed", "true");
    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "%s/orders/%" APR_INT64_T_FMT,
                                b2b_dir_conf(r)->api_base ? b2b_dir_conf(r)->api_base
                                                          : B2B_DEFAULT_API_BASE, id));
    return b2b_reply_json(r, HTTP_CREATED, out);
}

/* ---- the transaction ---------------------------------------------------------------------- */

typedef enum { TX_OK, TX_DB_ERROR, TX_STOCK, TX_CREDIT, TX_NO_FX, TX_DUPLICATE } tx_result_t;

typedef struct tx_out_t {
    apr_int64_t order_id;
    const char *status, *created_at;
    json_t *problem;              /* details of a refusal */
    json_t *credit;
    const char *message;
} tx_out_t;

static const char *nullable_array(apr_pool_t *p, const apr_int64_t *v, int n)
{
    /* -1 is SQL NULL */
    char *s = apr_pstrdup(p, "{"), *t;
    int i;
    for (i = 0; i < n; i++) {
        t = v[i] < 0 ? "NULL" : apr_psprintf(p, "%" APR_INT64_T_FMT, v[i]);
        s = apr_pstrcat(p, s, i ? "," : "", t, NULL);
    }
    return apr_pstrcat(p, s, "}", NULL);
}

static tx_result_t run_tx(checkout_t *ck, tx_out_t *out)
{
    b2b_req_t *req = ck->req;
    request_rec *r = req->r;
    apr_pool_t *p = r->pool;
    int n = ck->lines->nelts, i;
    apr_int64_t *pids = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *qtys = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *units = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *nets = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *taxes = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *grosses = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *reserved = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *backordered = apr_palloc(p, sizeof(apr_int64_t) * n);
    apr_int64_t *cart_units = apr_palloc(p, sizeof(apr_int64_t) * n);
    const char **skus = apr_palloc(p, sizeof(char *) * n);
    const char *args[22];
    apr_array_header_t *rows;
    apr_hash_t *taken = apr_hash_make(p);
    json_t *short_lines = NULL;
    const char **row;

    for (i = 0; i < n; i++) {
        checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
        pids[i] = cl->product.id;
        qtys[i] = cl->qty;
        skus[i] = cl->product.sku;
    }

    if (!b2b_orders_select(r, ck->dbd, "b2b_checkout_plan_mode", 0, args)) {
        return TX_DB_ERROR;
    }

    /* 1. stock */
    args[0] = b2b_pg_array_i64(p, pids, n);
    args[1] = b2b_pg_array_i64(p, qtys, n);
    rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_reserve", 2, args);
    if (!rows) {
        return TX_DB_ERROR;
    }
    for (i = 0; i < rows->nelts; i++) {
        row = APR_ARRAY_IDX(rows, i, const char **);
        apr_hash_set(taken, apr_pstrdup(p, row[0]), APR_HASH_KEY_STRING, row);
    }
    for (i = 0; i < n; i++) {
        checkout_line_t *cl = &APR_ARRAY_IDX(ck->lines, i, checkout_line_t);
        row = apr_hash_get(taken, b2b_i64(p, cl->product.id), APR_HASH_KEY_STRING);
        if (row && apr_atoi64(row[1]) >= 0) {
            cl->reserved = atol(row[1]);
            cl->backordered = cl->qty - cl->reserved;
        }
        else if (!row && cl->product.allow_backorder) {
            cl->reserved = 0;           /* no stock record: all on backorder */
            cl->backordered = cl->qty;
        }
        else {
            if (!short_lines) {
                short_lines = json_array();
            }
            json_array_append_new(short_lines, json_pack("{s:s,s:I,s:I}",
                                  "sku", cl->product.sku, "requested", (json_int_t)cl->qty,
                                  "available", (json_int_t)(row ? apr_atoi64(row[2]) : 0)));
        }
        reserved[i] = cl->reserved;
        backordered[i] = cl->backordered;
        units[i] = cl->priced.quote.unit_minor;
        nets[i] = cl->priced.quote.net_minor;
        taxes[i] = cl->priced.quote.tax_minor;
        grosses[i] = cl->priced.quote.gross_minor;
        cart_units[i] = price_changed(cl, ck->currency) ? cl->cart_price : -1;
    }
    if (short_lines) {
        out->problem = short_lines;
        return TX_STOCK;
    }

    /* 2. order, lines, history, outbox, cart */
    args[0] = b2b_i64(p, req->acting->id);
    args[1] = b2b_i64(p, req->who->user_id);
    args[2] = ck->po;
    args[3] = ck->key;
    args[4] = ck->currency;
    args[5] = b2b_i64(p, ck->net);
    args[6] = b2b_i64(p, ck->tax);
    args[7] = b2b_i64(p, ck->gross);
    args[8] = ck->promo ? ck->promo : "";
    args[9] = ck->note ? ck->note : "";
    args[10] = apr_psprintf(p, "%" APR_UINT64_T_FMT, ck->generation);
    args[11] = ck->cart_id ? b2b_i64(p, ck->cart_id) : "";
    args[12] = b2b_pg_array_i64(p, pids, n);
    args[13] = b2b_pg_array_text(p, skus, n);
    args[14] = b2b_pg_array_i64(p, qtys, n);
    args[15] = b2b_pg_array_i64(p, units, n);
    args[16] = b2b_pg_array_i64(p, nets, n);
    args[17] = b2b_pg_array_i64(p, taxes, n);
    args[18] = b2b_pg_array_i64(p, grosses, n);
    args[19] = b2b_pg_array_i64(p, reserved, n);
    args[20] = b2b_pg_array_i64(p, backordered, n);
    args[21] = nullable_array(p, cart_units, n);
    rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_insert", 22, args);
    if (!rows) {
        return TX_DB_ERROR;
    }
    if (rows->nelts == 0) {
        return TX_DUPLICATE;            /* the key was taken meanwhile */
    }
    row = APR_ARRAY_IDX(rows, 0, const char **);
    out->order_id = apr_atoi64(row[0]);
    out->status = row[1];
    out->created_at = row[2];

    /* 3. credit, last: the holder's row is the hottest lock */
    args[0] = b2b_i64(p, req->acting->id);
    args[1] = b2b_i64(p, ck->gross);
    args[2] = ck->currency;
    args[3] = b2b_i64(p, out->order_id);
    rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_credit", 4, args);
    if (!rows) {
        return TX_DB_ERROR;
    }
    if (rows->nelts == 1) {
        apr_int64_t charge, available;
        int digits;
        row = APR_ARRAY_IDX(rows, 0, const char **);
        charge = apr_atoi64(row[1]);
        available = apr_atoi64(row[3]);
        digits = atoi(row[5]);
        if (charge < 0) {
            out->message = apr_psprintf(p, "There is no exchange rate from %s to %s to "
                                        "check the credit of %s.", ck->currency, row[4], row[0]);
            return TX_NO_FX;
        }
        if (strcmp(row[2], "1")) {
            out->problem = json_pack("{s:s,s:o,s:o}", "credit_account", row[0],
                                     "order_total", b2b_money_json(charge, digits, row[4]),
                                     "available", b2b_money_json(available > 0 ? available : 0,
                                                                 digits, row[4]));
            out->message = apr_psprintf(p, "The order would exceed the credit limit of %s.",
                                        row[0]);
            return TX_CREDIT;
        }
        out->credit = b2b_json_pool_own(p, json_pack("{s:s,s:o}", "account", row[0],
                                        "charged", b2b_money_json(charge, digits, row[4])));
    }
    return TX_OK;
}

/* ---- the handler ------------------------------------------------------------------------- */

/* The order this user made with this key, if any (*id 0: none). */
static apr_status_t find_existing(checkout_t *ck, apr_int64_t *id, int *same)
{
    request_rec *r = ck->req->r;
    const char *args[8];
    apr_array_header_t *rows;
    int i;
    args[0] = b2b_i64(r->pool, ck->req->acting->id);
    args[1] = ck->po;
    args[2] = ck->promo ? ck->promo : "";
    args[3] = ck->note ? ck->note : "";
    args[4] = b2b_i64(r->pool, ck->req->who->user_id);
    args[5] = ck->key;
    args[6] = args[4];
    args[7] = "0";                      /* no account 0: no cart lines */
    *id = 0;
    rows = b2b_orders_select(r, ck->dbd, "b2b_checkout_load_cart", 8, args);
    if (!rows) {
        return APR_EGENERAL;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        if (row[0][0] == 'o') {
            *id = apr_atoi64(row[1]);
            *same = !strcmp(row[3], "true");
        }
    }
    return APR_SUCCESS;
}

static int handle_checkout(b2b_req_t *req)
{
    request_rec *r = req->r;
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    checkout_t *ck = apr_pcalloc(r->pool, sizeof(*ck));
    b2b_tx_t tx;
    tx_out_t out;
    tx_result_t res;
    int rc;

    ck->req = req;
    if ((rc = read_input(ck)) != DECLINED) {
        return OK;
    }
    if (!(ck->dbd = b2b_db(r))) {
        return b2b_orders_db_unavailable(r);
    }
    if ((rc = load(ck)) != DECLINED) {
        return OK;
    }
    if (ck->existing_id) {
        return replay(ck, ck->existing_id, ck->existing_same);
    }
    if (ck->lines->nelts == 0) {
        return b2b_reply_error(r, HTTP_CONFLICT, "cart_empty",
                               "The cart is empty; add lines before checking out.");
    }
    if (!(quote = b2b_orders_quote_fn())) {
        return b2b_orders_pricing_unavailable(r);
    }
    if ((rc = price_all(ck, quote)) != DECLINED) {
        return OK;
    }

    memset(&out, 0, sizeof(out));
    if (b2b_tx_begin(&tx, r, ck->dbd) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    res = run_tx(ck, &out);
    if (res != TX_OK) {
        b2b_tx_fail(&tx);
    }
    if (b2b_tx_end(&tx) != APR_SUCCESS && res == TX_OK) {
        res = TX_DB_ERROR;              /* COMMIT failed */
    }
    if (res != TX_OK && res != TX_DB_ERROR) {
        /* a request with the same key may have committed while this one
         * waited for its locks: then that order is the answer, not the
         * refusal (a retry must never see "out of stock" for its own order) */
        apr_int64_t id;
        int same;
        if (find_existing(ck, &id, &same) != APR_SUCCESS) {
            return b2b_orders_db_unavailable(r);
        }
        if (id) {
            return replay(ck, id, same);
        }
    }
    switch (res) {
    case TX_OK:
        break;
    case TX_DUPLICATE:
        /* the key's order was rolled back after all: let the client retry */
        return b2b_orders_db_unavailable(r);
    case TX_STOCK:
        return b2b_orders_error_details(r, HTTP_CONFLICT, "insufficient_stock", out.problem,
                                        "Not enough stock for %lu line(s); nothing was "
                                        "ordered.", (unsigned long)json_array_size(out.problem));
    case TX_CREDIT:
        return b2b_orders_error_details(r, HTTP_CONFLICT, "credit_limit_exceeded",
                                        out.problem, "%s", out.message);
    case TX_NO_FX:
        return b2b_reply_error(r, HTTP_CONFLICT, "no_fx_rate", "%s", out.message);
    case TX_DB_ERROR:
    default:
        return b2b_orders_db_unavailable(r);
    }

    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "%s/orders/%" APR_INT64_T_FMT,
                                b2b_dir_conf(r)->api_base ? b2b_dir_conf(r)->api_base
                                                          : B2B_DEFAULT_API_BASE,
                                out.order_id));
    return b2b_reply_json(r, HTTP_CREATED,
                          checkout_json(ck, out.order_id, out.status, out.created_at,
                                        out.credit));
}

void b2b_checkout_routes(void)
{
    b2b_db_prepare("b2b_checkout_load_cart", B2B_SQL_CHECKOUT_LOAD_CART);
    b2b_db_prepare("b2b_checkout_load_direct", B2B_SQL_CHECKOUT_LOAD_DIRECT);
    b2b_db_prepare("b2b_checkout_plan_mode", B2B_SQL_CHECKOUT_PLAN_MODE);
    b2b_db_prepare("b2b_checkout_reserve", B2B_SQL_CHECKOUT_RESERVE);
    b2b_db_prepare("b2b_checkout_insert", B2B_SQL_CHECKOUT_INSERT);
    b2b_db_prepare("b2b_checkout_credit", B2B_SQL_CHECKOUT_CREDIT);
    b2b_route_add("POST", "/orders", handle_checkout, B2B_ROUTE_JSON_BODY);
}
