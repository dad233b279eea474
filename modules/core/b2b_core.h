/*
 * b2b_core.h: private to mod_b2bportal: configuration, directive names and
 * the pieces of the core split across files.
 */
#ifndef B2B_CORE_H
#define B2B_CORE_H

#include "b2b_api.h"
#include "apr_shm.h"
#include "http_log.h"

/* Directive names in one place: a misspelling is a compile error, and
 * t/directives.t checks each one has a default and a merge rule. */
#define B2B_DIR_API_BASE          "B2BApiBase"
#define B2B_DIR_MAX_BODY          "B2BMaxBodySize"
#define B2B_DIR_WORKER            "B2BWorker"
#define B2B_DIR_WORKER_DB         "B2BWorkerDBParams"
#define B2B_DIR_REDIS             "B2BRedis"
#define B2B_DIR_IDENTITY_TTL      "B2BIdentityCacheTTL"
#define B2B_DIR_DIAGNOSTICS       "B2BDiagnostics"
#define B2B_DIR_CART_MAX_LINES    "B2BCartMaxLines"
#define B2B_DIR_IMPORT_MAX_ROWS   "B2BQuickOrderMaxRows"
/* catalog (modules/catalog) */
#define B2B_DIR_CONTENT_CACHE_TTL  "B2BContentCacheTTL"
#define B2B_DIR_CONTENT_CACHE_SIZE "B2BContentCacheSize"
#define B2B_DIR_CATALOG_INDEX_SIZE "B2BCatalogIndexSize"
#define B2B_DIR_INVENTORY_MAX_AGE  "B2BInventoryMaxAge"
#define B2B_DIR_CATALOG_REPLICA    "B2BCatalogReplica"
#define B2B_DIR_REPLICA_MAX_LAG    "B2BCatalogReplicaMaxLag"
#define B2B_DIR_AUTH_TTL          "B2BAuthCacheTTL"
#define B2B_DIR_ERP_ADAPTER       "B2BErpAdapter"
#define B2B_DIR_ERP_URL           "B2BErpURL"
#define B2B_DIR_ERP_DRAIN         "B2BErpDrain"
#define B2B_DIR_ERP_THREADS       "B2BErpThreads"
#define B2B_DIR_ERP_RETRY_MAX     "B2BErpRetryMax"
#define B2B_DIR_ERP_RETRY_BASE    "B2BErpRetryBase"
#define B2B_DIR_ERP_RETRY_CAP     "B2BErpRetryCap"
#define B2B_DIR_ERP_LEASE         "B2BErpLease"
#define B2B_DIR_ERP_TIMEOUT       "B2BErpTimeout"
#define B2B_DIR_ERP_STOCK_INTERVAL "B2BErpStockInterval"

#define B2B_UNSET      (-1)
#define B2B_UNSET_SIZE ((apr_off_t)-1)
#define B2B_ERP_MAX_THREADS 64     /* B2BErpThreads upper bound */

typedef struct b2b_server_conf_t {
    int worker_enabled;          /* B2BWorker, default on */
    const char *worker_db;       /* B2BWorkerDBParams */
    const char *redis;           /* B2BRedis host:port */
    int identity_ttl;            /* B2BIdentityCacheTTL seconds, default 5 */
    int diagnostics;             /* B2BDiagnostics, default off */
    /* catalog */
    int content_ttl;             /* B2BContentCacheTTL seconds, default 3600 */
    apr_int64_t content_cache_size; /* B2BContentCacheSize bytes, -1 unset */
    apr_int64_t catalog_index_size; /* B2BCatalogIndexSize bytes, -1 unset */
    int inventory_max_age;       /* B2BInventoryMaxAge seconds, default 30 */
    const char *catalog_replica; /* B2BCatalogReplica conninfo */
    int replica_max_lag;         /* B2BCatalogReplicaMaxLag seconds, default 5 */
    int auth_ttl;                /* B2BAuthCacheTTL seconds, default 300 */
    /* the ERP queue (modules/erp); read through b2b_erp_settings() */
    const char *erp_adapter;     /* B2BErpAdapter, default "http" */
    const char *erp_url;         /* B2BErpURL; unset: the queue is not drained */
    int erp_drain;               /* B2BErpDrain: this node delivers, default on */
    int erp_threads;             /* B2BErpThreads, default 4 */
    int erp_retry_max;           /* B2BErpRetryMax attempts, default 20 */
    int erp_retry_base;          /* B2BErpRetryBase ms, default 1000 */
    int erp_retry_cap;           /* B2BErpRetryCap ms, default 600000 */
    int erp_lease;               /* B2BErpLease seconds, default 60 */
    int erp_timeout;             /* B2BErpTimeout ms, default 10000 */
    int erp_stock_interval;      /* B2BErpStockInterval seconds, default 30 */
} b2b_server_conf_t;

typedef struct b2b_dir_conf_t {
    const char *api_base;        /* B2BApiBase, default /api/v1 */
    apr_off_t max_body;          /* B2BMaxBodySize, default 1 MiB */
    int cart_max_lines;          /* B2BCartMaxLines, default 200 */
    int import_max_rows;         /* B2BQuickOrderMaxRows, default 1000 */
} b2b_dir_conf_t;

#define B2B_DEFAULT_API_BASE     "/api/v1"
#define B2B_DEFAULT_MAX_BODY     (1024 * 1024)
#define B2B_DEFAULT_IDENTITY_TTL 5
#define B2B_DEFAULT_CONTENT_TTL        3600
#define B2B_DEFAULT_CONTENT_CACHE_SIZE (32 * 1024 * 1024)
#define B2B_DEFAULT_CATALOG_INDEX_SIZE (32 * 1024 * 1024)
#define B2B_DEFAULT_INVENTORY_MAX_AGE  30
#define B2B_DEFAULT_REPLICA_MAX_LAG    5
#define B2B_DEFAULT_AUTH_TTL     300

extern module AP_MODULE_DECLARE_DATA b2bportal_module;

b2b_server_conf_t *b2b_server_conf(server_rec *s);
b2b_dir_conf_t *b2b_dir_conf(request_rec *r);

/* b2b_http.c */
void b2b_routes_reset(apr_pool_t *pconf);
int b2b_api_dispatch(request_rec *r);
void b2b_http_register(void);

/* b2b_db.c */
void b2b_db_reset(apr_pool_t *pconf);
void b2b_db_register_all(server_rec *s);

/* b2b_identity.c */
void b2b_identity_register(void);
void b2b_identity_child_init(apr_pool_t *pchild, server_rec *s);
int b2b_identity_resolve(b2b_req_t *req, int need_account);

/* b2b_authn.c */
void b2b_authn_register(apr_pool_t *p);
void b2b_authn_child_init(apr_pool_t *pchild, server_rec *s);

/* modules/account */
void b2b_account_register(void);

/* modules/cart, modules/orders */
void b2b_cart_register(void);
void b2b_orders_register(void);
/* modules/catalog (registers its own post_config and child_init hooks) */
void b2b_catalog_register(apr_pool_t *pconf);
/* modules/erp (the Apache side of the ERP queue and stock sync) */
void b2b_erp_register(void);

/* modules/worker */
void b2b_worker_reset(apr_pool_t *pconf);
int b2b_worker_post_config(apr_pool_t *pconf, server_rec *s);
void b2b_worker_register_routes(void);

#endif
