/*
 * b2b_orders.h: private to the cart and orders capability (modules/cart,
 * modules/orders): the pieces both share, pricing a line through
 * mod_b2b_pricing's optional function, money as JSON, the product lookup
 * and "may this account see this product", transactions and error replies.
 */
#ifndef B2B_ORDERS_H
#define B2B_ORDERS_H

#include "b2b_core.h"
#include "b2b_pricing_api.h"
#include "b2b_quickorder.h"
#include "b2b_order_state.h"
#include "b2b_orders_sql.h"

/* Defaults of the capability's directives (b2b_core.h names them). */
#define B2B_DEFAULT_CART_MAX_LINES    200
#define B2B_DEFAULT_IMPORT_MAX_ROWS   1000

int b2b_cart_max_lines(request_rec *r);
int b2b_import_max_rows(request_rec *r);

/* ---- products --------------------------------------------------------------- */

typedef struct b2b_product_info_t {
    apr_int64_t id;
    const char *sku;
    const char *name;
    apr_int64_t group_id;        /* 0: none */
    const char *category;        /* category code */
    int allow_backorder;
    int active;
} b2b_product_info_t;

/* The one place that decides whether an account may see (and so buy) a
 * product. The catalog capability owns the access rules; until its
 * implementation replaces this function, every active product is visible. */
int b2b_product_visible(const b2b_req_t *req, const b2b_account_ref_t *account,
                        const b2b_product_info_t *product);

/* Looks SKUs up (skus: well-formed, upper case). Returns a hash sku ->
 * b2b_product_info_t*, or NULL on a database error (logged). */
apr_hash_t *b2b_products_by_sku(request_rec *r, ap_dbd_t *dbd,
                                const char *const *skus, int n);

/* ---- pricing ---------------------------------------------------------------- */

typedef struct b2b_priced_t {
    b2b_status_t status;
    b2b_quote_t quote;
    apr_uint64_t generation;
} b2b_priced_t;

/* The pricing service's quote function, or NULL while mod_b2b_pricing is
 * not loaded: callers answer 503 pricing_unavailable. */
APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *b2b_orders_quote_fn(void);

/* Prices one line for the account as the quote endpoint would: the
 * account's currency, now. Never touches the database. */
void b2b_orders_price(APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote,
                      request_rec *r, const char *account_code,
                      const char *sku, long qty, const char *promo,
                      b2b_priced_t *out);

/* Answers a pricing failure of one line (503, 404 unknown_sku, 409 no_price,
 * 422 ...); returns OK (answered). */
int b2b_orders_price_error(request_rec *r, const char *sku, b2b_status_t st);

/* 503 pricing_unavailable with Retry-After. */
int b2b_orders_pricing_unavailable(request_rec *r);

/* ---- replies ---------------------------------------------------------------- */

/* {"amount": "17.25", "currency": "USD"}. */
json_t *b2b_money_json(apr_int64_t minor, int digits, const char *currency);
/* 503 database_unavailable with Retry-After; returns OK (answered). */
int b2b_orders_db_unavailable(request_rec *r);
/* {"error": {"code", "message", "details": details}} (takes details). */
int b2b_orders_error_details(request_rec *r, int status, const char *code,
                             json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- database ----------------------------------------------------------------- */

/* Runs a prepared statement and fetches its whole result: rows of column
 * strings (NULL for SQL NULL); NULL on error (logged). Unlike b2b_db_select
 * it never mistakes an error for an empty result, so it is the one to use
 * inside transactions. */
apr_array_header_t *b2b_orders_select(request_rec *r, ap_dbd_t *dbd,
                                      const char *label, int nargs,
                                      const char **args);

/* ---- transactions ------------------------------------------------------------- */

typedef struct b2b_tx_t {
    request_rec *r;
    ap_dbd_t *dbd;
    apr_dbd_transaction_t *trans;
    int failed;
} b2b_tx_t;

/* Starts a transaction on the request's connection; APR_SUCCESS or error. */
apr_status_t b2b_tx_begin(b2b_tx_t *tx, request_rec *r, ap_dbd_t *dbd);
/* Marks the transaction for rollback (any later statement is skipped). */
void b2b_tx_fail(b2b_tx_t *tx);
/* Commits (or rolls back if failed); APR_SUCCESS only when committed. */
apr_status_t b2b_tx_end(b2b_tx_t *tx);

/* ---- small helpers ------------------------------------------------------------ */

/* "%lld" of a 64-bit integer in r->pool. */
const char *b2b_i64(apr_pool_t *p, apr_int64_t v);
/* A PostgreSQL array literal of bigints / text tokens (tokens must need no
 * quoting: SKUs, status names) / of int64 values that may be NULL. */
const char *b2b_pg_array_i64(apr_pool_t *p, const apr_int64_t *v, int n);
const char *b2b_pg_array_text(apr_pool_t *p, const char *const *v, int n);
/* Parses a whole decimal id (1..2^63-1); 0 if it is not one. */
apr_int64_t b2b_parse_id(const char *s);
/* The value of a query-string parameter (URL-decoded) or NULL; "" if given
 * empty. */
const char *b2b_query_param(request_rec *r, const char *name);
/* The caller's entry for the account with this id (NULL: not theirs). */
const b2b_account_ref_t *b2b_identity_account_by_id(const b2b_identity_t *who,
                                                    apr_int64_t id);
/* "{id,id,...}" of every account the caller may act for. */
const char *b2b_visible_account_ids(request_rec *r, const b2b_identity_t *who);

/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" and
 * writes a timestamp PostgreSQL accepts; a date alone means its start, or
 * with end_of_day the start of the next day (for an inclusive "to").
 * Returns NULL if the text is not a valid date (years 1970..9999). */
const char *b2b_parse_timestamp(apr_pool_t *p, const char *s, int end_of_day);
/* "YYYY-MM" -> [start, end) of that month in UTC, as timestamps; 0 if bad. */
int b2b_parse_month(apr_pool_t *p, const char *s, const char **start,
                    const char **end);

/* ---- orders as JSON (b2b_orders_read.c) ---------------------------------------- */

/* The order as GET /orders/{id} shows it (lines, history). Returns NULL and
 * sets *status: HTTP_NOT_FOUND when there is no such order or the caller
 * may not see it, HTTP_SERVICE_UNAVAILABLE on a database error. */
json_t *b2b_order_detail(b2b_req_t *req, ap_dbd_t *dbd, apr_int64_t id,
                         int check_visible, int *status);
/* Whether the caller may see orders of this account. */
int b2b_order_visible(const b2b_req_t *req, apr_int64_t account_id);

/* ---- registration (pre_config) ------------------------------------------------ */

void b2b_orders_common_register(void);
void b2b_checkout_routes(void);
void b2b_orders_read_routes(void);
void b2b_order_actions_routes(void);
void b2b_invoices_routes(void);

#endif
