/*
 * mod_b2bportal: the core of the B2B portal. Directives and their merge
 * rules, the /api/v1 handler (routing lives in modules/core/b2b_http.c),
 * mod_dbd statements, and the module-managed background worker.
 *
 *   <Location /api/v1>
 *       SetHandler b2bportal-api
 *   </Location>
 */
#include "b2b_core.h"
#include "b2b_erp.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "apr_strings.h"

/* APLOG_USE_MODULE comes with AP_DECLARE_MODULE below. */


/* ---- configuration ------------------------------------------------------ */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    b2b_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    (void)s;
    conf->worker_enabled = B2B_UNSET;
    conf->worker_db = NULL;
    conf->redis = NULL;
    conf->identity_ttl = B2B_UNSET;
    conf->diagnostics = B2B_UNSET;
    conf->content_ttl = B2B_UNSET;
    conf->content_cache_size = B2B_UNSET;
    conf->catalog_index_size = B2B_UNSET;
    conf->inventory_max_age = B2B_UNSET;
    conf->catalog_replica = NULL;
    conf->replica_max_lag = B2B_UNSET;
    conf->auth_ttl = B2B_UNSET;
    conf->erp_adapter = NULL;
    conf->erp_url = NULL;
    conf->erp_drain = B2B_UNSET;
    conf->erp_threads = B2B_UNSET;
    conf->erp_retry_max = B2B_UNSET;
    conf->erp_retry_base = B2B_UNSET;
    conf->erp_retry_cap = B2B_UNSET;
    conf->erp_lease = B2B_UNSET;
    conf->erp_timeout = B2B_UNSET;
    conf->erp_stock_interval = B2B_UNSET;
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    b2b_server_conf_t *base = basev, *add = addv;
    b2b_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    conf->worker_enabled = add->worker_enabled != B2B_UNSET
                           ? add->worker_enabled : base->worker_enabled;
    conf->worker_db = add->worker_db ? add->worker_db : base->worker_db;
    conf->redis = add->redis ? add->redis : base->redis;
    conf->identity_ttl = add->identity_ttl != B2B_UNSET
                         ? add->identity_ttl : base->identity_ttl;
    conf->diagnostics = add->diagnostics != B2B_UNSET
                        ? add->diagnostics : base->diagnostics;
    conf->content_ttl = add->content_ttl != B2B_UNSET
                        ? add->content_ttl : base->content_ttl;
    conf->content_cache_size = add->content_cache_size != B2B_UNSET
                               ? add->content_cache_size : base->content_cache_size;
    conf->catalog_index_size = add->catalog_index_size != B2B_UNSET
                               ? add->catalog_index_size : base->catalog_index_size;
    conf->inventory_max_age = add->inventory_max_age != B2B_UNSET
                              ? add->inventory_max_age : base->inventory_max_age;
    conf->catalog_replica = add->catalog_replica ? add->catalog_replica
                                                 : base->catalog_replica;
    conf->replica_max_lag = add->replica_max_lag != B2B_UNSET
                            ? add->replica_max_lag : base->replica_max_lag;
    conf->auth_ttl = add->auth_ttl != B2B_UNSET ? add->auth_ttl : base->auth_ttl;
    conf->erp_adapter = add->erp_adapter ? add->erp_adapter : base->erp_adapter;
    conf->erp_url = add->erp_url ? add->erp_url : base->erp_url;
    conf->erp_drain = add->erp_drain != B2B_UNSET
                      ? add->erp_drain : base->erp_drain;
    conf->erp_threads = add->erp_threads != B2B_UNSET
                        ? add->erp_threads : base->erp_threads;
    conf->erp_retry_max = add->erp_retry_max != B2B_UNSET
                          ? add->erp_retry_max : base->erp_retry_max;
    conf->erp_retry_base = add->erp_retry_base != B2B_UNSET
                           ? add->erp_retry_base : base->erp_retry_base;
    conf->erp_retry_cap = add->erp_retry_cap != B2B_UNSET
                          ? add->erp_retry_cap : base->erp_retry_cap;
    conf->erp_lease = add->erp_lease != B2B_UNSET
                      ? add->erp_lease : base->erp_lease;
    conf->erp_timeout = add->erp_timeout != B2B_UNSET
                        ? add->erp_timeout : base->erp_timeout;
    conf->erp_stock_interval = add->erp_stock_interval != B2B_UNSET
                               ? add->erp_stock_interval : base->erp_stock_interval;
    return conf;
}

static void *create_dir_conf(apr_pool_t *p, char *path)
{
    b2b_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    (void)path;
    conf->api_base = NULL;
    conf->max_body = B2B_UNSET_SIZE;
    conf->cart_max_lines = B2B_UNSET;
    conf->import_max_rows = B2B_UNSET;
    return conf;
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    b2b_dir_conf_t *base = basev, *add = addv;
    b2b_dir_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    conf->api_base = add->api_base ? add->api_base : base->api_base;
    conf->max_body = add->max_body != B2B_UNSET_SIZE ? add->max_body
                                                     : base->max_body;
    conf->cart_max_lines = add->cart_max_lines != B2B_UNSET ? add->cart_max_lines
                                                            : base->cart_max_lines;
    conf->import_max_rows = add->import_max_rows != B2B_UNSET ? add->import_max_rows
                                                              : base->import_max_rows;
    return conf;
}

/* Getters apply the defaults, so "unset" never leaks past this file. */
b2b_server_conf_t *b2b_server_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &b2bportal_module);
}

b2b_dir_conf_t *b2b_dir_conf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &b2bportal_module);
}

const char *b2b_conf_redis(server_rec *s)
{
    return b2b_server_conf(s)->redis;
}

const char *b2b_conf_db_params(server_rec *s)
{
    return b2b_server_conf(s)->worker_db;
}

static const char *set_api_base(cmd_parms *cmd, void *dconf, const char *arg)
{
    b2b_dir_conf_t *conf = dconf;
    (void)cmd;
    if (arg[0] != '/' || (strlen(arg) > 1 && arg[strlen(arg) - 1] == '/')) {
        return B2B_DIR_API_BASE " must start with / and not end with /";
    }
    conf->api_base = arg;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dconf, const char *arg)
{
    b2b_dir_conf_t *conf = dconf;
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    (void)cmd;
    if (*end || v < 1024 || v > 64 * 1024 * 1024) {
        return B2B_DIR_MAX_BODY " takes a byte count from 1024 to 67108864";
    }
    conf->max_body = (apr_off_t)v;
    return NULL;
}

static const char *set_cart_max_lines(cmd_parms *cmd, void *dconf, const char *arg)
{
    b2b_dir_conf_t *conf = dconf;
    char *end;
    long v = strtol(arg, &end, 10);
    (void)cmd;
    if (*end || v < 1 || v > 10000) {
        return B2B_DIR_CART_MAX_LINES " takes a line count from 1 to 10000";
    }
    conf->cart_max_lines = (int)v;
    return NULL;
}

static const char *set_import_max_rows(cmd_parms *cmd, void *dconf, const char *arg)
{
    b2b_dir_conf_t *conf = dconf;
    char *end;
    long v = strtol(arg, &end, 10);
    (void)cmd;
    if (*end || v < 1 || v > 100000) {
        return B2B_DIR_IMPORT_MAX_ROWS " takes a row count from 1 to 100000";
    }
    conf->import_max_rows = (int)v;
    return NULL;
}

static const char *set_worker(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    b2b_server_conf(cmd->server)->worker_enabled = flag;
    return NULL;
}

static const char *set_worker_db(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    b2b_server_conf(cmd->server)->worker_db = arg;
    return NULL;
}

static const char *set_redis(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    (void)dconf;
    if (!colon || colon == arg || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535) {
        return B2B_DIR_REDIS " takes host:port, e.g. 127.0.0.1:6379";
    }
    b2b_server_conf(cmd->server)->redis = arg;
    return NULL;
}

static const char *set_identity_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    (void)dconf;
    if (*end || v < 0 || v > 3600) {
        return B2B_DIR_IDENTITY_TTL " takes seconds from 0 (off) to 3600";
    }
    b2b_server_conf(cmd->server)->identity_ttl = (int)v;
    return NULL;
}

static const char *set_diagnostics(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    b2b_server_conf(cmd->server)->diagnostics = flag;
    return NULL;
}

/* Seconds from lo to hi; NULL or the error text. */
static const char *parse_seconds(const char *arg, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi) {
        return "out of range";
    }
    *out = (int)v;
    return NULL;
}

static const char *set_content_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (parse_seconds(arg, 0, 7 * 86400, &v)) {
        return B2B_DIR_CONTENT_CACHE_TTL " takes seconds from 0 (off) to 604800";
    }
    b2b_server_conf(cmd->server)->content_ttl = v;
    return NULL;
}

/* Shared memory sizes: bytes from 1 MiB to 4 GiB; 0 or -1 on error. */
static int parse_shm_bytes(const char *arg, apr_int64_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (*end || end == arg || v < 1024 * 1024 || v > APR_INT64_C(4) * 1024 * 1024 * 1024) {
        return -1;
    }
    *out = v;
    return 0;
}

static const char *set_content_cache_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    (void)dconf;
    if (parse_shm_bytes(arg, &v)) {
        return B2B_DIR_CONTENT_CACHE_SIZE " takes bytes from 1048576 to 4294967296";
    }
    b2b_server_conf(cmd->server)->content_cache_size = v;
    return NULL;
}

static const char *set_catalog_index_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    (void)dconf;
    if (parse_shm_bytes(arg, &v)) {
        return B2B_DIR_CATALOG_INDEX_SIZE " takes bytes from 1048576 to 4294967296";
    }
    b2b_server_conf(cmd->server)->catalog_index_size = v;
    return NULL;
}

static const char *set_inventory_max_age(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (parse_seconds(arg, 0, 3600, &v)) {
        return B2B_DIR_INVENTORY_MAX_AGE " takes seconds from 0 (always read) to 3600";
    }
    b2b_server_conf(cmd->server)->inventory_max_age = v;
    return NULL;
}

static const char *set_catalog_replica(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    b2b_server_conf(cmd->server)->catalog_replica = *arg ? arg : NULL;
    return NULL;
}

static const char *set_replica_max_lag(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (parse_seconds(arg, 1, 3600, &v)) {
        return B2B_DIR_REPLICA_MAX_LAG " takes seconds from 1 to 3600";
    }
    b2b_server_conf(cmd->server)->replica_max_lag = v;
    return NULL;
}

static const char *set_auth_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    (void)dconf;
    if (*end || v < 0 || v > 86400) {
        return B2B_DIR_AUTH_TTL " takes seconds from 0 (off) to 86400";
    }
    b2b_server_conf(cmd->server)->auth_ttl = (int)v;
    return NULL;
}

/* 1 if arg is a whole number in [lo, hi] (then *out is set). */
static int int_in_range(const char *arg, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi) {
        return 0;
    }
    *out = (int)v;
    return 1;
}

static const char *set_erp_adapter(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    if (!b2b_erp_adapter_find(arg)) {
        const b2b_erp_adapter_t *const *a = b2b_erp_adapters();
        const char *names = "";
        for (; *a; a++) {
            names = apr_pstrcat(cmd->pool, names, *names ? ", " : "", (*a)->name, NULL);
        }
        return apr_pstrcat(cmd->pool, B2B_DIR_ERP_ADAPTER " takes one of: ", names, NULL);
    }
    b2b_server_conf(cmd->server)->erp_adapter = arg;
    return NULL;
}

static const char *set_erp_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
        return B2B_DIR_ERP_URL " takes the ERP's base URL, http://... or https://...";
    }
    b2b_server_conf(cmd->server)->erp_url = arg;
    return NULL;
}

static const char *set_erp_drain(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    b2b_server_conf(cmd->server)->erp_drain = flag;
    return NULL;
}

static const char *set_erp_threads(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 1, B2B_ERP_MAX_THREADS, &v)) {
        return B2B_DIR_ERP_THREADS " takes a thread count from 1 to 64";
    }
    b2b_server_conf(cmd->server)->erp_threads = v;
    return NULL;
}

static const char *set_erp_retry_max(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 1, 1000, &v)) {
        return B2B_DIR_ERP_RETRY_MAX " takes a number of attempts from 1 to 1000";
    }
    b2b_server_conf(cmd->server)->erp_retry_max = v;
    return NULL;
}

static const char *set_erp_retry_base(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 1, 3600000, &v)) {
        return B2B_DIR_ERP_RETRY_BASE " takes milliseconds from 1 to 3600000";
    }
    b2b_server_conf(cmd->server)->erp_retry_base = v;
    return NULL;
}

static const char *set_erp_retry_cap(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 1, 86400000, &v)) {
        return B2B_DIR_ERP_RETRY_CAP " takes milliseconds from 1 to 86400000";
    }
    b2b_server_conf(cmd->server)->erp_retry_cap = v;
    return NULL;
}

static const char *set_erp_lease(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 2, 86400, &v)) {
        return B2B_DIR_ERP_LEASE " takes seconds from 2 to 86400";
    }
    b2b_server_conf(cmd->server)->erp_lease = v;
    return NULL;
}

static const char *set_erp_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 100, 600000, &v)) {
        return B2B_DIR_ERP_TIMEOUT " takes milliseconds from 100 to 600000";
    }
    b2b_server_conf(cmd->server)->erp_timeout = v;
    return NULL;
}

static const char *set_erp_stock_interval(cmd_parms *cmd, void *dconf, const char *arg)
{
    int v;
    (void)dconf;
    if (!int_in_range(arg, 0, 86400, &v)) {
        return B2B_DIR_ERP_STOCK_INTERVAL " takes seconds from 0 (no pull) to 86400";
    }
    b2b_server_conf(cmd->server)->erp_stock_interval = v;
    return NULL;
}

static const command_rec b2b_directives[] = {
    AP_INIT_TAKE1(B2B_DIR_API_BASE, set_api_base, NULL, ACCESS_CONF | RSRC_CONF,
                  "URL path the JSON API is mounted at (default /api/v1)"),
    AP_INIT_TAKE1(B2B_DIR_MAX_BODY, set_max_body, NULL, ACCESS_CONF | RSRC_CONF,
                  "Largest request body accepted, in bytes (default 1048576)"),
    AP_INIT_TAKE1(B2B_DIR_CART_MAX_LINES, set_cart_max_lines, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "Most lines a cart (and a direct order) may hold (default 200)"),
    AP_INIT_TAKE1(B2B_DIR_IMPORT_MAX_ROWS, set_import_max_rows, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "Most rows one quick-order import may hold (default 1000)"),
    AP_INIT_FLAG(B2B_DIR_WORKER, set_worker, NULL, RSRC_CONF,
                 "Run the background worker (default On)"),
    AP_INIT_TAKE1(B2B_DIR_WORKER_DB, set_worker_db, NULL, RSRC_CONF,
                  "libpq conninfo for the worker's own connections"),
    AP_INIT_TAKE1(B2B_DIR_REDIS, set_redis, NULL, RSRC_CONF,
                  "Redis host:port for cache invalidation"),
    AP_INIT_TAKE1(B2B_DIR_IDENTITY_TTL, set_identity_ttl, NULL, RSRC_CONF,
                  "Seconds a user's accounts and roles are cached per process "
                  "(default 5, 0 = off)"),
    AP_INIT_FLAG(B2B_DIR_DIAGNOSTICS, set_diagnostics, NULL, RSRC_CONF,
                 "Enable POST /api/v1/_echo, which parses and echoes a JSON "
                 "body (tests only; default Off)"),
    AP_INIT_TAKE1(B2B_DIR_CONTENT_CACHE_TTL, set_content_ttl, NULL, RSRC_CONF,
                  "Seconds product content stays in the shared cache (default "
                  "3600, 0 = off); a product change invalidates it at once"),
    AP_INIT_TAKE1(B2B_DIR_CONTENT_CACHE_SIZE, set_content_cache_size, NULL, RSRC_CONF,
                  "Bytes of shared memory for the catalog content cache "
                  "(default 33554432)"),
    AP_INIT_TAKE1(B2B_DIR_CATALOG_INDEX_SIZE, set_catalog_index_size, NULL, RSRC_CONF,
                  "Bytes of shared memory for the SKU -> access key index that "
                  "answers 'may this account see this SKU' for quotes, carts "
                  "and orders (two copies, about 33 bytes per product each; default "
                  "33554432)"),
    AP_INIT_TAKE1(B2B_DIR_INVENTORY_MAX_AGE, set_inventory_max_age, NULL, RSRC_CONF,
                  "Oldest stock figure the catalog may show, in seconds "
                  "(default 30)"),
    AP_INIT_TAKE1(B2B_DIR_CATALOG_REPLICA, set_catalog_replica, NULL, RSRC_CONF,
                  "libpq conninfo of a read-only replica for catalog reads"),
    AP_INIT_TAKE1(B2B_DIR_REPLICA_MAX_LAG, set_replica_max_lag, NULL, RSRC_CONF,
                  "Replication lag in seconds beyond which catalog reads go to "
                  "the primary (default 5)"),
    AP_INIT_TAKE1(B2B_DIR_AUTH_TTL, set_auth_ttl, NULL, RSRC_CONF,
                  "Seconds a successful password check is remembered per process "
                  "by the b2b auth provider (default 300, 0 = off)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_ADAPTER, set_erp_adapter, NULL, RSRC_CONF,
                  "ERP adapter the worker delivers orders with (default http)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_URL, set_erp_url, NULL, RSRC_CONF,
                  "Base URL of the ERP; unset: the order queue is not drained"),
    AP_INIT_FLAG(B2B_DIR_ERP_DRAIN, set_erp_drain, NULL, RSRC_CONF,
                 "Whether this node's worker delivers queued orders (default On); "
                 "Off for nodes that only serve"),
    AP_INIT_TAKE1(B2B_DIR_ERP_THREADS, set_erp_threads, NULL, RSRC_CONF,
                  "Delivery threads of the worker on this node (default 4)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_RETRY_MAX, set_erp_retry_max, NULL, RSRC_CONF,
                  "Attempts before an order goes to the dead letter (default 20)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_RETRY_BASE, set_erp_retry_base, NULL, RSRC_CONF,
                  "First retry delay ceiling in ms, doubled per attempt, with "
                  "full jitter (default 1000)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_RETRY_CAP, set_erp_retry_cap, NULL, RSRC_CONF,
                  "Largest retry delay in ms (default 600000)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_LEASE, set_erp_lease, NULL, RSRC_CONF,
                  "Seconds a claimed order stays with its worker before another "
                  "node may take it over (default 60)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_TIMEOUT, set_erp_timeout, NULL, RSRC_CONF,
                  "Longest one ERP call may take, in ms (default 10000)"),
    AP_INIT_TAKE1(B2B_DIR_ERP_STOCK_INTERVAL, set_erp_stock_interval, NULL, RSRC_CONF,
                  "Seconds between stock pulls from the ERP (default 30, 0 = off)"),
    {NULL}
};

/* ---- hooks ---------------------------------------------------------------- */

static int b2b_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog; (void)ptemp;
    b2b_routes_reset(pconf);
    b2b_db_reset(pconf);
    b2b_worker_reset(pconf);
    b2b_http_register();
    b2b_identity_register();
    b2b_account_register();
    b2b_cart_register();
    b2b_orders_register();
    b2b_catalog_register(pconf);
    b2b_erp_register();
    b2b_worker_register_routes();
    return OK;
}

/* Runs before mod_dbd's post_config so our statements reach every server. */
static int b2b_post_config_dbd(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog; (void)ptemp;
    b2b_db_register_all(s);
    return OK;
}

static int b2b_post_config_worker(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *s)
{
    (void)plog; (void)ptemp;
    return b2b_worker_post_config(pconf, s);
}

static void b2b_child_init(apr_pool_t *pchild, server_rec *s)
{
    b2b_identity_child_init(pchild, s);
    b2b_authn_child_init(pchild, s);
}

/* ErrorDocument target: httpd's own 401/403/5xx pages become JSON. */
static int error_document(request_rec *r)
{
    const char *status = apr_table_get(r->subprocess_env, "REDIRECT_STATUS");
    int code = status ? atoi(status) : (r->prev ? r->prev->status : 0);

    if (!r->prev || code < 400 || code > 599) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
    }
    /* a 500 before anyone was authenticated is the auth backend (the
     * database) failing: tell the client to come back, not that we broke */
    if (code == HTTP_INTERNAL_SERVER_ERROR && !r->prev->user) {
        code = HTTP_SERVICE_UNAVAILABLE;
    }
    switch (code) {
    case HTTP_UNAUTHORIZED:
        return b2b_reply_error(r, code, "unauthorized",
                               "Log in with a portal user name and password.");
    case HTTP_FORBIDDEN:
        return b2b_reply_error(r, code, "forbidden",
                               "You may not use this resource.");
    case HTTP_SERVICE_UNAVAILABLE:
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return b2b_reply_error(r, code, "service_unavailable",
                               "A service the portal needs is down; try again "
                               "shortly.");
    default:
        return b2b_reply_error(r, code, code < 500 ? "bad_request" : "internal_error",
                               code < 500 ? "The request was not accepted."
                                          : "The portal could not answer; the "
                                            "error is logged.");
    }
}

/* API paths are not files: claim them at translate_name (the per-dir
 * config of the first <Location> walk is in effect then; httpd resets it
 * before map_to_storage) and skip the directory walk, as mod_proxy does, so
 * neither a missing nor an unreadable DocumentRoot (a checkout under /root,
 * children running as www-data) gets in the way. The <Location> walk that
 * follows still applies auth and SetHandler. */
static int b2b_translate_name(request_rec *r)
{
    b2b_dir_conf_t *dconf = b2b_dir_conf(r);
    apr_size_t n;
    if (!dconf || !dconf->api_base || !r->uri) {
        return DECLINED;
    }
    n = strlen(dconf->api_base);
    if (strncmp(r->uri, dconf->api_base, n) || (r->uri[n] && r->uri[n] != '/')) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, "b2bportal:", r->uri, NULL);
    apr_table_setn(r->notes, "b2bportal-api", "1");
    return OK;
}

static int b2b_map_to_storage(request_rec *r)
{
    return apr_table_get(r->notes, "b2bportal-api") ? OK : DECLINED;
}

static int b2b_handler(request_rec *r)
{
    if (!r->handler) {
        return DECLINED;
    }
    if (!strcmp(r->handler, "b2bportal-api")) {
        return b2b_api_dispatch(r);
    }
    if (!strcmp(r->handler, "b2bportal-error")) {
        return error_document(r);
    }
    return DECLINED;
}

static void b2b_register_hooks(apr_pool_t *p)
{
    static const char *const before_dbd[] = { "mod_dbd.c", NULL };
    b2b_authn_register(p);
    ap_hook_pre_config(b2b_pre_config, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_post_config(b2b_post_config_dbd, NULL, before_dbd, APR_HOOK_MIDDLE);
    /* last, so every capability module has registered its worker tasks */
    ap_hook_post_config(b2b_post_config_worker, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_child_init(b2b_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(b2b_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(b2b_translate_name, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(b2b_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
}

AP_DECLARE_MODULE(b2bportal) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    b2b_directives,
    b2b_register_hooks,
    AP_MODULE_FLAG_NONE
};
