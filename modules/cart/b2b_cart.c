/*
 * b2b_cart.c: the cart of a user for the account they act for, durable in
 * PostgreSQL and priced through the pricing service.
 *
 *   GET    /cart                  the cart, priced now
 *   POST   /cart/lines            {"sku","qty"} adds or increases a line
 *   PATCH  /cart/lines/{sku}      {"qty"}; 0 removes
 *   DELETE /cart/lines/{sku}      removes a line
 *   DELETE /cart                  empties the cart
 *   POST   /cart/import           text/csv or text/plain quick order
 *
 * Each line keeps the unit price and pricing generation it was last shown
 * at; GET /cart re-prices and says which prices changed since, and checkout
 * compares against what the buyer last saw. Writes lock the cart row
 * (INSERT ... ON CONFLICT DO UPDATE) so the line limit holds under races.
 */
#include "b2b_orders.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_CART_LINES \
    "SELECT p.id, p.sku, p.name, l.qty, coalesce(l.unit_price_minor, -1), " \
    "coalesce(l.currency, ''), coalesce(l.pricing_generation, 0), " \
    "coalesce(p.product_group_id, 0), cat.code, p.allow_backorder::text, " \
    "p.active::text, coalesce(s.on_hand - s.reserved, 0), c.id " \
    "FROM carts c JOIN cart_lines l ON l.cart_id = c.id " \
    "JOIN products p ON p.id = l.product_id " \
    "JOIN categories cat ON cat.id = p.category_id " \
    "LEFT JOIN stock s ON s.product_id = p.id " \
    "WHERE c.user_id = %s::bigint AND c.account_id = %s::bigint " \
    "ORDER BY l.added_at, p.sku"

/* Creates the cart if needed and locks its row until the transaction ends. */
#define SQL_CART_LOCK \
    "INSERT INTO carts (user_id, account_id) VALUES (%s::bigint, %s::bigint) " \
    "ON CONFLICT (user_id, account_id) DO UPDATE SET updated_at = now() " \
    "RETURNING id"

#define SQL_CART_LINE_QTYS \
    "SELECT product_id, qty FROM cart_lines WHERE cart_id = %s::bigint"

#define SQL_CART_UPSERT \
    "INSERT INTO cart_lines (cart_id, product_id, qty, unit_price_minor, " \
    "currency, pricing_generation) " \
    "SELECT %s::bigint, u.product_id, u.qty, u.price, %s::char(3), %s::bigint " \
    "FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) AS u (product_id, qty, price) " \
    "ON CONFLICT (cart_id, product_id) DO UPDATE SET qty = EXCLUDED.qty, " \
    "unit_price_minor = EXCLUDED.unit_price_minor, currency = EXCLUDED.currency, " \
    "pricing_generation = EXCLUDED.pricing_generation"

#define SQL_CART_REPRICE \
    "UPDATE cart_lines l SET unit_price_minor = u.price, currency = %s::char(3), " \
    "pricing_generation = %s::bigint " \
    "FROM unnest(%s::bigint[], %s::bigint[]) AS u (product_id, price) " \
    "WHERE l.cart_id = %s::bigint AND l.product_id = u.product_id " \
    "AND l.unit_price_minor IS DISTINCT FROM u.price"

#define SQL_CART_LINE_DELETE \
    "DELETE FROM cart_lines l USING carts c WHERE l.cart_id = c.id " \
    "AND c.user_id = %s::bigint AND c.account_id = %s::bigint " \
    "AND l.product_id = (SELECT id FROM products WHERE sku = %s) RETURNING l.product_id"

#define SQL_CART_CLEAR \
    "DELETE FROM cart_lines l USING carts c WHERE l.cart_id = c.id " \
    "AND c.user_id = %s::bigint AND c.account_id = %s::bigint RETURNING l.product_id"

typedef struct cart_line_t {
    b2b_product_info_t product;
    long qty;
    apr_int64_t stored_price;     /* -1: never priced */
    const char *stored_currency;
    apr_uint64_t stored_generation;
    apr_int64_t available;
    b2b_priced_t priced;
} cart_line_t;

/* ---- loading and rendering ------------------------------------------------------ */

static const char *user_arg(b2b_req_t *req)
{
    return b2b_i64(req->r->pool, req->who->user_id);
}

static const char *account_arg(b2b_req_t *req)
{
    return b2b_i64(req->r->pool, req->acting->id);
}

/* Lines of the caller's cart; NULL on a database error. */
static apr_array_header_t *cart_load(b2b_req_t *req, ap_dbd_t *dbd,
                                     apr_int64_t *cart_id)
{
    const char *args[2] = { user_arg(req), account_arg(req) };
    apr_array_header_t *rows = b2b_orders_select(req->r, dbd, "b2b_cart_lines", 2, args);
    apr_array_header_t *lines;
    int i;

    *cart_id = 0;
    if (!rows) {
        return NULL;
    }
    lines = apr_array_make(req->r->pool, rows->nelts ? rows->nelts : 1,
                           sizeof(cart_line_t));
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        cart_line_t *l = apr_array_push(lines);
        memset(l, 0, sizeof(*l));
        l->product.id = apr_atoi64(row[0]);
        l->product.sku = row[1];
        l->product.name = row[2];
        l->qty = atol(row[3]);
        l->stored_price = apr_atoi64(row[4]);
        l->stored_currency = row[5];
        l->stored_generation = (apr_uint64_t)apr_atoi64(row[6]);
        l->product.group_id = apr_atoi64(row[7]);
        l->product.category = row[8];
        l->product.allow_backorder = !strcmp(row[9], "true");
        l->product.active = !strcmp(row[10], "true");
        l->available = apr_atoi64(row[11]);
        *cart_id = apr_atoi64(row[12]);
    }
    return lines;
}

/* Prices every line; returns OK, or an answered error (no snapshot). */
static int cart_price(b2b_req_t *req, APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote,
                      apr_array_header_t *lines)
{
    int i;
    for (i = 0; i < lines->nelts; i++) {
        cart_line_t *l = &APR_ARRAY_IDX(lines, i, cart_line_t);
        if (!b2b_product_visible(req, req->acting, &l->product)) {
            l->priced.status = B2B_ERR_UNKNOWN_SKU;
            continue;
        }
        b2b_orders_price(quote, req->r, req->acting->code, l->product.sku, l->qty,
                         NULL, &l->priced);
        if (l->priced.status == B2B_ERR_BAD_SNAPSHOT
            || l->priced.status == B2B_ERR_UNKNOWN_ACCOUNT) {
            return b2b_orders_pricing_unavailable(req->r);
        }
    }
    return DECLINED;
}

/* Remembers the prices just shown, so checkout can say what changed. */
static void cart_store_prices(b2b_req_t *req, ap_dbd_t *dbd, apr_int64_t cart_id,
                              apr_array_header_t *lines)
{
    apr_int64_t *ids = apr_palloc(req->r->pool, sizeof(*ids) * (lines->nelts + 1));
    apr_int64_t *prices = apr_palloc(req->r->pool, sizeof(*prices) * (lines->nelts + 1));
    const char *currency = NULL;
    apr_uint64_t generation = 0;
    const char *args[5];
    int i, n = 0;

    for (i = 0; i < lines->nelts; i++) {
        cart_line_t *l = &APR_ARRAY_IDX(lines, i, cart_line_t);
        if (l->priced.status != B2B_OK
            || (l->stored_price == l->priced.quote.unit_minor
                && !strcmp(l->stored_currency, l->priced.quote.currency))) {
            continue;
        }
        ids[n] = l->product.id;
        prices[n] = l->priced.quote.unit_minor;
        currency = l->priced.quote.currency;
        generation = l->priced.generation;
        n++;
    }
    if (!n) {
        return;
    }
    args[0] = currency;
    args[1] = apr_psprintf(req->r->pool, "%" APR_UINT64_T_FMT, generation);
    args[2] = b2b_pg_array_i64(req->r->pool, ids, n);
    args[3] = b2b_pg_array_i64(req->r->pool, prices, n);
    args[4] = b2b_i64(req->r->pool, cart_id);
    /* best effort: the answer stays right if this write is lost */
    (void)b2b_orders_select(req->r, dbd, "b2b_cart_reprice", 5, args);
}

static json_t *cart_json(b2b_req_t *req, apr_array_header_t *lines)
{
    json_t *items = json_array();
    apr_int64_t net = 0, tax = 0, gross = 0;
    const char *currency = req->acting->currency;
    int digits = 2, i, overflow = 0;
    apr_uint64_t generation = 0;

    for (i = 0; i < lines->nelts; i++) {
        cart_line_t *l = &APR_ARRAY_IDX(lines, i, cart_line_t);
        json_t *item = json_pack("{s:s,s:s,s:I,s:I}", "sku", l->product.sku,
                                 "name", l->product.name, "qty", (json_int_t)l->qty,
                                 "available", (json_int_t)(l->available > 0 ? l->available : 0));
        if (l->priced.status == B2B_OK) {
            const b2b_quote_t *q = &l->priced.quote;
            int changed = l->stored_price >= 0
                          && (l->stored_price != q->unit_minor
                              || strcmp(l->stored_currency, q->currency));
            currency = apr_pstrdup(req->r->pool, q->currency);
            digits = q->minor_digits;
            generation = l->priced.generation;
            json_object_set_new(item, "unit_price", b2b_money_json(q->unit_minor, digits, q->currency));
            json_object_set_new(item, "net", b2b_money_json(q->net_minor, digits, q->currency));
            json_object_set_new(item, "tax", b2b_money_json(q->tax_minor, digits, q->currency));
            json_object_set_new(item, "gross", b2b_money_json(q->gross_minor, digits, q->currency));
            json_object_set_new(item, "pricing_generation", json_integer((json_int_t)l->priced.generation));
            json_object_set_new(item, "price_changed", json_boolean(changed));
            if (changed) {
                json_object_set_new(item, "previous_unit_price",
                                    b2b_money_json(l->stored_price, digits, l->stored_currency));
            }
            json_object_set_new(item, "orderable", json_true());
            if (b2b_money_add(net, q->net_minor, &net) != B2B_OK
                || b2b_money_add(tax, q->tax_minor, &tax) != B2B_OK
                || b2b_money_add(gross, q->gross_minor, &gross) != B2B_OK) {
                overflow = 1;
            }
        }
        else {
            int gone = l->priced.status == B2B_ERR_UNKNOWN_SKU;
            json_object_set_new(item, "unit_price", json_null());
            json_object_set_new(item, "orderable", json_false());
            json_object_set_new(item, "reason", json_string(gone ? "not_available" : "no_price"));
        }
        json_array_append_new(items, item);
    }
    return json_pack("{s:s,s:o,s:o,s:I,s:I,s:I}",
                     "account", req->acting->code,
                     "lines", items,
                     "totals", overflow ? json_null()
                         : json_pack("{s:o,s:o,s:o}",
                                     "net", b2b_money_json(net, digits, currency),
                                     "tax", b2b_money_json(tax, digits, currency),
                                     "gross", b2b_money_json(gross, digits, currency)),
                     "line_count", (json_int_t)lines->nelts,
                     "max_lines", (json_int_t)b2b_cart_max_lines(req->r),
                     "pricing_generation", (json_int_t)generation);
}

/* Loads, prices and answers the cart (GET /cart and after every change). */
static json_t *cart_view(b2b_req_t *req, ap_dbd_t *dbd,
                         APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote, int *answered)
{
    apr_int64_t cart_id;
    apr_array_header_t *lines = cart_load(req, dbd, &cart_id);
    *answered = 0;
    if (!lines) {
        *answered = 1;
        b2b_orders_db_unavailable(req->r);
        return NULL;
    }
    if (cart_price(req, quote, lines) != DECLINED) {
        *answered = 1;
        return NULL;
    }
    if (cart_id) {
        cart_store_prices(req, dbd, cart_id, lines);
    }
    return cart_json(req, lines);
}

static int reply_cart(b2b_req_t *req, ap_dbd_t *dbd,
                      APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote, int status)
{
    int answered;
    json_t *cart = cart_view(req, dbd, quote, &answered);
    if (answered) {
        return OK;
    }
    return b2b_reply_json(req->r, status, cart);
}

/* ---- shared preconditions ------------------------------------------------------ */

/* The pricing function and a connection, or an answered 503. */
static int cart_begin(b2b_req_t *req, APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) **quote,
                      ap_dbd_t **dbd)
{
    *quote = b2b_orders_quote_fn();
    if (!*quote) {
        return b2b_orders_pricing_unavailable(req->r);
    }
    *dbd = b2b_db(req->r);
    if (!*dbd) {
        return b2b_orders_db_unavailable(req->r);
    }
    return DECLINED;
}

/* Upper-cases a SKU from a path or body; NULL if it cannot be one. */
static char *normalise_sku(apr_pool_t *p, const char *s)
{
    char *u;
    int i;
    if (!s || !*s || strlen(s) > B2B_QO_SKU_MAX) {
        return NULL;
    }
    u = apr_pstrdup(p, s);
    for (i = 0; u[i]; i++) {
        if (u[i] >= 'a' && u[i] <= 'z') {
            u[i] = (char)(u[i] - 'a' + 'A');
        }
    }
    return b2b_qo_sku_valid(u) ? u : NULL;
}

/* qty from a JSON body: an integer in [min, 1000000]; -1 if not. */
static long body_qty(json_t *body, long min)
{
    json_t *v = json_object_get(body, "qty");
    json_int_t q;
    if (!v || !json_is_integer(v)) {
        return -1;
    }
    q = json_integer_value(v);
    return q < min || q > B2B_QO_QTY_MAX ? -1 : (long)q;
}

/* ---- GET /cart, DELETE /cart -------------------------------------------------- */

static int handle_cart_get(b2b_req_t *req)
{
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    ap_dbd_t *dbd;
    if (cart_begin(req, &quote, &dbd) != DECLINED) {
        return OK;
    }
    return reply_cart(req, dbd, quote, HTTP_OK);
}

static int handle_cart_clear(b2b_req_t *req)
{
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    ap_dbd_t *dbd;
    const char *args[2];
    if (cart_begin(req, &quote, &dbd) != DECLINED) {
        return OK;
    }
    args[0] = user_arg(req);
    args[1] = account_arg(req);
    if (!b2b_orders_select(req->r, dbd, "b2b_cart_clear", 2, args)) {
        return b2b_orders_db_unavailable(req->r);
    }
    return reply_cart(req, dbd, quote, HTTP_OK);
}

/* ---- writing lines --------------------------------------------------------------- */

typedef struct line_write_t {
    apr_int64_t product_id;
    long qty;
    apr_int64_t price;
} line_write_t;

static int upsert_lines(b2b_tx_t *tx, apr_int64_t cart_id, const char *currency,
                        apr_uint64_t generation, const line_write_t *w, int n)
{
    apr_pool_t *p = tx->r->pool;
    apr_int64_t *ids = apr_palloc(p, sizeof(*ids) * (n + 1));
    apr_int64_t *qtys = apr_palloc(p, sizeof(*qtys) * (n + 1));
    apr_int64_t *prices = apr_palloc(p, sizeof(*prices) * (n + 1));
    const char *args[6];
    int i;
    for (i = 0; i < n; i++) {
        ids[i] = w[i].product_id;
        qtys[i] = w[i].qty;
        prices[i] = w[i].price;
    }
    args[0] = b2b_i64(p, cart_id);
    args[1] = currency;
    args[2] = apr_psprintf(p, "%" APR_UINT64_T_FMT, generation);
    args[3] = b2b_pg_array_i64(p, ids, n);
    args[4] = b2b_pg_array_i64(p, qtys, n);
    args[5] = b2b_pg_array_i64(p, prices, n);
    return b2b_orders_select(tx->r, tx->dbd, "b2b_cart_upsert", 6, args) ? 0 : -1;
}

/* Locks (creating) the cart and reads its lines: product id -> qty. */
static apr_int64_t lock_cart(b2b_tx_t *tx, b2b_req_t *req, apr_hash_t **qtys)
{
    const char *args[2] = { user_arg(req), account_arg(req) };
    apr_array_header_t *rows = b2b_orders_select(tx->r, tx->dbd, "b2b_cart_lock", 2, args);
    apr_int64_t cart_id;
    int i;
    if (!rows || rows->nelts != 1) {
        return 0;
    }
    cart_id = apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[0]);
    args[0] = b2b_i64(tx->r->pool, cart_id);
    rows = b2b_orders_select(tx->r, tx->dbd, "b2b_cart_line_qtys", 1, args);
    if (!rows) {
        return 0;
    }
    *qtys = apr_hash_make(tx->r->pool);
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        apr_int64_t *id = apr_palloc(tx->r->pool, sizeof(*id));
        *id = apr_atoi64(row[0]);
        apr_hash_set(*qtys, id, sizeof(*id), apr_pstrdup(tx->r->pool, row[1]));
    }
    return cart_id;
}

static long existing_qty(apr_hash_t *qtys, apr_int64_t product_id)
{
    const char *v = apr_hash_get(qtys, &product_id, sizeof(product_id));
    return v ? atol(v) : 0;
}

/* Rolls back and answers the database error. */
static int tx_abort_db(b2b_tx_t *tx)
{
    b2b_tx_fail(tx);
    b2b_tx_end(tx);
    return b2b_orders_db_unavailable(tx->r);
}

/* Sets one line to qty (add: qty is added to what is there). */
static int write_line(b2b_req_t *req, const char *sku, long qty, int add)
{
    request_rec *r = req->r;
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    ap_dbd_t *dbd;
    apr_hash_t *products, *qtys = NULL;
    b2b_product_info_t *p;
    b2b_tx_t tx;
    apr_int64_t cart_id;
    long have, want;
    b2b_priced_t priced;
    line_write_t w;

    if (cart_begin(req, &quote, &dbd) != DECLINED) {
        return OK;
    }
    products = b2b_products_by_sku(r, dbd, &sku, 1);
    if (!products) {
        return b2b_orders_db_unavailable(r);
    }
    p = apr_hash_get(products, sku, APR_HASH_KEY_STRING);
    if (!p || !p->active || !b2b_product_visible(req, req->acting, p)) {
        /* a product this account may not see answers like a missing one */
        return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku", "No product %s.", sku);
    }
    if (b2b_tx_begin(&tx, r, dbd) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    cart_id = lock_cart(&tx, req, &qtys);
    if (!cart_id) {
        return tx_abort_db(&tx);
    }
    have = existing_qty(qtys, p->id);
    if (!add && !have) {
        b2b_tx_fail(&tx);
        b2b_tx_end(&tx);
        return b2b_reply_error(r, HTTP_NOT_FOUND, "line_not_found",
                               "The cart has no line for %s.", sku);
    }
    want = add ? have + qty : qty;
    if (want > B2B_QO_QTY_MAX) {
        b2b_tx_fail(&tx);
        b2b_tx_end(&tx);
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_quantity",
                               "The cart would hold %ld of %s; at most %d per line.",
                               want, sku, B2B_QO_QTY_MAX);
    }
    if (!have && (int)apr_hash_count(qtys) >= b2b_cart_max_lines(r)) {
        b2b_tx_fail(&tx);
        b2b_tx_end(&tx);
        return b2b_reply_error(r, HTTP_CONFLICT, "cart_full",
                               "The cart already holds %d lines, the most it may "
                               "hold; order or remove some first.",
                               b2b_cart_max_lines(r));
    }
    b2b_orders_price(quote, r, req->acting->code, p->sku, want, NULL, &priced);
    if (priced.status != B2B_OK) {
        b2b_tx_fail(&tx);
        b2b_tx_end(&tx);
        return b2b_orders_price_error(r, sku, priced.status);
    }
    w.product_id = p->id;
    w.qty = want;
    w.price = priced.quote.unit_minor;
    if (upsert_lines(&tx, cart_id, priced.quote.currency, priced.generation, &w, 1)) {
        return tx_abort_db(&tx);
    }
    if (b2b_tx_end(&tx) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    return reply_cart(req, dbd, quote, add && !have ? HTTP_CREATED : HTTP_OK);
}

static int handle_line_add(b2b_req_t *req)
{
    json_t *sku_v;
    const char *sku;
    long qty;
    if (!json_is_object(req->body)) {
        return b2b_reply_error(req->r, HTTP_UNPROCESSABLE_ENTITY, "bad_body",
                               "Send an object: {\"sku\": \"SKU-00042\", \"qty\": 3}.");
    }
    sku_v = json_object_get(req->body, "sku");
    if (!json_is_string(sku_v)) {
        return b2b_reply_error(req->r, HTTP_UNPROCESSABLE_ENTITY, "missing_sku",
                               "sku is required and must be a string.");
    }
    sku = normalise_sku(req->r->pool, json_string_value(sku_v));
    if (!sku) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "unknown_sku",
                               "No product with that SKU.");
    }
    qty = body_qty(req->body, 1);
    if (qty < 0) {
        return b2b_reply_error(req->r, HTTP_UNPROCESSABLE_ENTITY, "bad_quantity",
                               "qty must be a whole number from 1 to %d.", B2B_QO_QTY_MAX);
    }
    return write_line(req, sku, qty, 1);
}

static int remove_line(b2b_req_t *req, const char *sku)
{
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    ap_dbd_t *dbd;
    apr_array_header_t *rows;
    const char *args[3];
    if (cart_begin(req, &quote, &dbd) != DECLINED) {
        return OK;
    }
    args[0] = user_arg(req);
    args[1] = account_arg(req);
    args[2] = sku;
    rows = b2b_orders_select(req->r, dbd, "b2b_cart_line_delete", 3, args);
    if (!rows) {
        return b2b_orders_db_unavailable(req->r);
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "line_not_found",
                               "The cart has no line for %s.", sku);
    }
    return reply_cart(req, dbd, quote, HTTP_OK);
}

static int handle_line_patch(b2b_req_t *req)
{
    const char *sku = normalise_sku(req->r->pool, req->params[0]);
    long qty;
    if (!sku) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "line_not_found",
                               "The cart has no line for that SKU.");
    }
    if (!json_is_object(req->body)) {
        return b2b_reply_error(req->r, HTTP_UNPROCESSABLE_ENTITY, "bad_body",
                               "Send an object: {\"qty\": 3}.");
    }
    qty = body_qty(req->body, 0);
    if (qty < 0) {
        return b2b_reply_error(req->r, HTTP_UNPROCESSABLE_ENTITY, "bad_quantity",
                               "qty must be a whole number from 0 (remove) to %d.",
                               B2B_QO_QTY_MAX);
    }
    return qty == 0 ? remove_line(req, sku) : write_line(req, sku, qty, 0);
}

static int handle_line_delete(b2b_req_t *req)
{
    const char *sku = normalise_sku(req->r->pool, req->params[0]);
    if (!sku) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "line_not_found",
                               "The cart has no line for that SKU.");
    }
    return remove_line(req, sku);
}

/* ---- POST /cart/import ------------------------------------------------------------- */

typedef struct import_product_t {
    b2b_product_info_t *product;
    long qty;                 /* sum of its accepted rows */
    long have;                /* already in the cart */
    int first_row;
    const char *reason;       /* set when its rows are rejected as a group */
    const char *message;
    b2b_priced_t priced;
} import_product_t;

static int content_type_text(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    return ct && (!strncasecmp(ct, "text/csv", 8) || !strncasecmp(ct, "text/plain", 10));
}

static json_t *reject_json(const b2b_qo_row_t *row, const char *reason, const char *message)
{
    return json_pack("{s:i,s:s,s:s?,s:s,s:s}", "line", (int)row->line,
                     "input", row->input, "sku", row->sku[0] ? row->sku : NULL,
                     "reason", reason, "message", message);
}

static int handle_import(b2b_req_t *req)
{
    request_rec *r = req->r;
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    ap_dbd_t *dbd;
    int max_rows = b2b_import_max_rows(r), max_lines = b2b_cart_max_lines(r);
    b2b_qo_row_t *rows;
    const char **reasons, **messages;
    size_t nrows, i;
    b2b_qo_status_t st;
    const char **skus;
    int nskus = 0, j, lines_now, nwrites = 0, answered;
    apr_hash_t *products, *by_product, *qtys = NULL;
    apr_array_header_t *order;       /* import_product_t*, in first-row order */
    line_write_t *writes;
    json_t *added, *rejected, *cart;
    b2b_tx_t tx;
    apr_int64_t cart_id;
    const char *currency = NULL;
    apr_uint64_t generation = 0;

    if (!content_type_text(r)) {
        return b2b_reply_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                               "Send the quick order as text/csv (sku,qty per line) "
                               "or text/plain (a pasted SKU list).");
    }
    rows = apr_palloc(r->pool, sizeof(*rows) * (apr_size_t)max_rows);
    st = b2b_quickorder_parse(req->raw_body, req->raw_len, rows, (size_t)max_rows, &nrows);
    if (st == B2B_QO_NOT_TEXT) {
        return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_csv",
                               "The body is not UTF-8 text.");
    }
    if (st == B2B_QO_TOO_MANY_ROWS) {
        return b2b_reply_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "too_many_rows",
                               "The import holds %lu rows; at most %d per import. "
                               "Nothing was added.", (unsigned long)nrows, max_rows);
    }
    if (st == B2B_QO_EMPTY) {
        return b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "empty_import",
                               "The import holds no rows (expected sku,qty per line).");
    }
    if (cart_begin(req, &quote, &dbd) != DECLINED) {
        return OK;
    }

    reasons = apr_pcalloc(r->pool, sizeof(*reasons) * nrows);
    messages = apr_pcalloc(r->pool, sizeof(*messages) * nrows);
    skus = apr_palloc(r->pool, sizeof(*skus) * nrows);
    {
        apr_hash_t *seen = apr_hash_make(r->pool);
        for (i = 0; i < nrows; i++) {
            if (rows[i].status != B2B_QO_ROW_OK) {
                reasons[i] = b2b_qo_row_reason(rows[i].status);
                messages[i] = b2b_qo_row_message(rows[i].status);
            }
            else if (!apr_hash_get(seen, rows[i].sku, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, rows[i].sku, APR_HASH_KEY_STRING, "");
                skus[nskus++] = rows[i].sku;
            }
        }
    }
    products = b2b_products_by_sku(r, dbd, skus, nskus);
    if (!products) {
        return b2b_orders_db_unavailable(r);
    }
    if (b2b_tx_begin(&tx, r, dbd) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    cart_id = lock_cart(&tx, req, &qtys);
    if (!cart_id) {
        return tx_abort_db(&tx);
    }

    /* 1. rows: product, visibility, quantity summed per product */
    by_product = apr_hash_make(r->pool);
    order = apr_array_make(r->pool, nskus ? nskus : 1, sizeof(import_product_t *));
    for (i = 0; i < nrows; i++) {
        b2b_product_info_t *p;
        import_product_t *ip;
        if (reasons[i]) {
            continue;
        }
        p = apr_hash_get(products, rows[i].sku, APR_HASH_KEY_STRING);
        if (!p || !p->active) {
            reasons[i] = "unknown_sku";
            messages[i] = "No product with this SKU.";
            continue;
        }
        if (!b2b_product_visible(req, req->acting, p)) {
            reasons[i] = "not_visible";
            messages[i] = "This product is not available to your account.";
            continue;
        }
        ip = apr_hash_get(by_product, &p->id, sizeof(p->id));
        if (!ip) {
            ip = apr_pcalloc(r->pool, sizeof(*ip));
            ip->product = p;
            ip->have = existing_qty(qtys, p->id);
            ip->first_row = (int)i;
            apr_hash_set(by_product, &p->id, sizeof(p->id), ip);
            APR_ARRAY_PUSH(order, import_product_t *) = ip;
        }
        if (ip->have + ip->qty + rows[i].qty > B2B_QO_QTY_MAX) {
            reasons[i] = "bad_quantity";
            messages[i] = "The cart would hold more than 1000000 of this SKU.";
            continue;
        }
        ip->qty += rows[i].qty;
    }

    /* 2. price each product at its final quantity; 3. the line limit */
    lines_now = (int)apr_hash_count(qtys);
    writes = apr_palloc(r->pool, sizeof(*writes) * (order->nelts + 1));
    for (j = 0; j < order->nelts; j++) {
        import_product_t *ip = APR_ARRAY_IDX(order, j, import_product_t *);
        if (ip->qty == 0) {
            continue;                /* every row of it was rejected */
        }
        b2b_orders_price(quote, r, req->acting->code, ip->product->sku,
                         ip->have + ip->qty, NULL, &ip->priced);
        if (ip->priced.status == B2B_ERR_BAD_SNAPSHOT
            || ip->priced.status == B2B_ERR_UNKNOWN_ACCOUNT) {
            b2b_tx_fail(&tx);
            b2b_tx_end(&tx);
            return b2b_orders_pricing_unavailable(r);
        }
        if (ip->priced.status != B2B_OK) {
            ip->reason = ip->priced.status == B2B_ERR_UNKNOWN_SKU ? "unknown_sku" : "no_price";
            ip->message = ip->priced.status == B2B_ERR_UNKNOWN_SKU
                          ? "No product with this SKU."
                          : "This product has no price for your account.";
            continue;
        }
        if (!ip->have) {
            if (lines_now >= max_lines) {
                ip->reason = "cart_full";
                ip->message = apr_psprintf(r->pool, "The cart holds at most %d lines.",
                                           max_lines);
                continue;
            }
            lines_now++;
        }
        writes[nwrites].product_id = ip->product->id;
        writes[nwrites].qty = ip->have + ip->qty;
        writes[nwrites].price = ip->priced.quote.unit_minor;
        currency = ip->priced.quote.currency;
        generation = ip->priced.generation;
        nwrites++;
    }
    if (nwrites && upsert_lines(&tx, cart_id, currency, generation, writes, nwrites)) {
        return tx_abort_db(&tx);
    }
    if (!nwrites) {
        b2b_tx_fail(&tx);            /* nothing to keep, not even a new cart */
        b2b_tx_end(&tx);
    }
    else if (b2b_tx_end(&tx) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }

    added = json_array();
    rejected = json_array();
    for (i = 0; i < nrows; i++) {
        import_product_t *ip = NULL;
        if (!reasons[i]) {
            b2b_product_info_t *p = apr_hash_get(products, rows[i].sku, APR_HASH_KEY_STRING);
            ip = apr_hash_get(by_product, &p->id, sizeof(p->id));
        }
        if (reasons[i] || (ip && ip->reason)) {
            json_array_append_new(rejected, reject_json(&rows[i],
                                  reasons[i] ? reasons[i] : ip->reason,
                                  reasons[i] ? messages[i] : ip->message));
        }
        else {
            json_array_append_new(added, json_pack("{s:i,s:s,s:I}", "line",
                                  (int)rows[i].line, "sku", rows[i].sku,
                                  "qty", (json_int_t)rows[i].qty));
        }
    }
    cart = cart_view(req, dbd, quote, &answered);
    if (answered) {
        json_decref(added);
        json_decref(rejected);
        return OK;
    }
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:I,s:I,s:o,s:o,s:o}",
                          "accepted", (json_int_t)json_array_size(added),
                          "rejected_count", (json_int_t)json_array_size(rejected),
                          "added", added, "rejected", rejected, "cart", cart));
}

void b2b_cart_register(void)
{
    b2b_orders_common_register();
    b2b_db_prepare("b2b_cart_lines", SQL_CART_LINES);
    b2b_db_prepare("b2b_cart_lock", SQL_CART_LOCK);
    b2b_db_prepare("b2b_cart_line_qtys", SQL_CART_LINE_QTYS);
    b2b_db_prepare("b2b_cart_upsert", SQL_CART_UPSERT);
    b2b_db_prepare("b2b_cart_reprice", SQL_CART_REPRICE);
    b2b_db_prepare("b2b_cart_line_delete", SQL_CART_LINE_DELETE);
    b2b_db_prepare("b2b_cart_clear", SQL_CART_CLEAR);
    b2b_route_add("GET", "/cart", handle_cart_get, 0);
    b2b_route_add("DELETE", "/cart", handle_cart_clear, 0);
    b2b_route_add("POST", "/cart/lines", handle_line_add, B2B_ROUTE_JSON_BODY);
    b2b_route_add("PATCH", "/cart/lines/{sku}", handle_line_patch, B2B_ROUTE_JSON_BODY);
    b2b_route_add("DELETE", "/cart/lines/{sku}", handle_line_delete, 0);
    b2b_route_add("POST", "/cart/import", handle_import, B2B_ROUTE_RAW_BODY);
}
