/*
 * b2b_pricing_shell.h: private to mod_b2b_pricing, the Apache side of the
 * pricing engine: the shared-memory store of compiled snapshots, the worker
 * task that builds them, and the HTTP endpoints.
 */
#ifndef B2B_PRICING_SHELL_H
#define B2B_PRICING_SHELL_H

#include "b2b_api.h"
#include "b2b_pricing.h"
#include "b2b_pricing_api.h"
#include "http_log.h"

#define B2B_DIR_PRICING_SHM        "B2BPricingShmSize"
#define B2B_DIR_PRICING_STALENESS  "B2BPricingMaxStaleness"
#define B2B_DIR_PRICING_ENGINE     "B2BPricingEngine"

#define B2B_PRICING_DEFAULT_SHM       (128 * 1024 * 1024)
#define B2B_PRICING_DEFAULT_STALENESS 5
#define B2B_PRICING_CHANNEL           "b2b:pricing"

typedef enum { B2B_ENGINE_UNSET = -1, B2B_ENGINE_SNAPSHOT = 0, B2B_ENGINE_SQL = 1 }
    b2b_engine_mode_t;

typedef struct b2b_pricing_conf_t {
    apr_int64_t shm_size;        /* -1 unset */
    int staleness;               /* seconds, -1 unset */
    int engine;                  /* b2b_engine_mode_t */
} b2b_pricing_conf_t;

extern module AP_MODULE_DECLARE_DATA b2b_pricing_module;

b2b_pricing_conf_t *b2b_pricing_conf(server_rec *s);
apr_int64_t b2b_pricing_conf_shm(server_rec *s);
int b2b_pricing_conf_staleness(server_rec *s);

/* ---- the store: two snapshot slots in shared memory ------------------------ */

#define B2B_SLOT_NONE 2u

/* Offsets only: children and the worker may map it at different addresses. */
typedef struct b2b_pricing_shm_t {
    apr_uint32_t magic;
    apr_uint32_t layout;
    volatile apr_uint32_t active;            /* 0, 1 or B2B_SLOT_NONE */
    volatile apr_uint32_t readers[2];
    volatile apr_uint32_t redis_up;
    apr_uint64_t slot_size;
    apr_uint64_t slot_offset[2];
    volatile apr_uint64_t generation;        /* of the active slot */
    volatile apr_uint64_t built_at_us;
    volatile apr_uint64_t build_us;          /* duration of the last build */
    volatile apr_uint64_t rules;
    volatile apr_uint64_t bytes;
    volatile apr_uint64_t builds_full;
    volatile apr_uint64_t builds_incremental;
    volatile apr_uint64_t build_failures;
    volatile apr_uint64_t last_check_us;     /* last look at the rules version */
    volatile apr_uint64_t db_version;        /* the version seen then */
    volatile apr_uint64_t quotes;            /* lines priced (all children) */
    char last_error[240];
} b2b_pricing_shm_t;

apr_status_t b2b_pricing_store_init(server_rec *s, apr_pool_t *pconf);
b2b_pricing_shm_t *b2b_pricing_store(void);
/* Readers: never block; NULL when no snapshot is in service. */
const void *b2b_pricing_acquire(unsigned *slot);
void b2b_pricing_release(unsigned slot);
/* The single writer (the worker): a slot nobody reads, then publish it. */
void *b2b_pricing_begin_write(unsigned *slot);
void b2b_pricing_publish(unsigned slot, apr_uint64_t generation,
                         const b2b_build_stats_t *stats, apr_uint64_t build_us,
                         int incremental);
void b2b_pricing_note_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- loading rules from PostgreSQL (the worker and the admin preview) ---- */

/* Column order is the engine's b2b_*_col_t; timestamps as epoch seconds. */
#define B2B_SQL_RULE_COLUMNS \
    "r.id, r.kind, r.account_id, r.price_list_id, r.product_id, " \
    "r.product_group_id, r.currency, r.price_minor, r.discount_bp, " \
    "r.amount_off_minor, r.min_qty, r.promo_code, r.stackable, " \
    "ceil(extract(epoch FROM r.valid_from))::bigint, " \
    "ceil(extract(epoch FROM r.valid_to))::bigint, r.country, r.region, " \
    "r.tax_class, r.rate_bp, r.to_currency, r.fx_rate_micro"

#define B2B_SQL_RULES_ALL "SELECT " B2B_SQL_RULE_COLUMNS " FROM price_rules r"
/* B2B_SCOPE_ACCOUNT_OWN: a rule change on an account touches that account's
 * rules only, not its subtree's (a 40-account tree: 100 rows, not 4,000) */
#define B2B_SQL_RULES_ACCOUNT "SELECT " B2B_SQL_RULE_COLUMNS " FROM price_rules r " \
    "WHERE r.kind IN ('contract', 'promo') AND r.account_id = %s::bigint"
#define B2B_SQL_RULES_GROUP "SELECT " B2B_SQL_RULE_COLUMNS " FROM price_rules r " \
    "WHERE r.product_group_id = %s::bigint OR r.product_id IN " \
    "(SELECT id FROM products WHERE product_group_id = %s::bigint)"
#define B2B_SQL_RULES_SKU "SELECT " B2B_SQL_RULE_COLUMNS " FROM price_rules r " \
    "WHERE r.product_id = %s::bigint"
#define B2B_SQL_ACCOUNTS "SELECT id, code, parent_id, currency, country, region, " \
    "price_list_id, tax_exempt FROM accounts"
#define B2B_SQL_PRODUCTS "SELECT id, sku, product_group_id, tax_class FROM products " \
    "WHERE active"
#define B2B_SQL_CURRENCIES "SELECT code, minor_digits FROM currencies"
#define B2B_SQL_VERSION "SELECT version FROM pricing_state WHERE id = 1"
#define B2B_SQL_CHANGES "SELECT version, scope_kind, scope_id FROM price_rule_changes " \
    "WHERE version > %s::bigint ORDER BY version"

typedef enum { B2B_ROW_CURRENCY, B2B_ROW_ACCOUNT, B2B_ROW_PRODUCT, B2B_ROW_RULE }
    b2b_row_kind_t;

/* Runs sql (or the prepared st with args) and adds every row to in. Returns
 * the number of rows the engine refused (why: the first reason), or -1 on a
 * database error (why: the message). Reads the result through to its end. */
int b2b_pricing_load(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                     apr_pool_t *p, const char *sql, apr_dbd_prepared_t *st,
                     int nargs, const char **args, b2b_input_t *in,
                     b2b_row_kind_t kind, char *why, apr_size_t whylen);
/* Currencies, accounts, products and every rule: a full input set. */
int b2b_pricing_load_all(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                         apr_pool_t *p, b2b_input_t *in, char *why, apr_size_t whylen);

/* ---- the worker task and the endpoints --------------------------------------- */

void b2b_pricing_worker_task(b2b_worker_ctx_t *ctx, void *baton);
void b2b_pricing_routes_register(void);
void b2b_pricing_http_prepare(server_rec *s);
/* optional_fn_retrieve hook: the catalog's visibility check */
void b2b_pricing_http_optional_fns(void);
void b2b_pricing_admin_register(void);
/* Publish a change on Redis so every node's worker wakes now. */
void b2b_pricing_notify(request_rec *r, apr_uint64_t version);

#endif
