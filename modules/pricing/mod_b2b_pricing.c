/*
 * mod_b2b_pricing: the pricing service of the portal. The engine
 * (b2b_money/rules/snapshot/resolve.c) is plain C; this is its Apache shell:
 * directives, the shared-memory store, the optional functions the
 * storefront calls, the worker task registration and /admin/status.
 *
 *   LoadModule b2bportal_module   .../mod_b2bportal.so
 *   LoadModule b2b_pricing_module .../mod_b2b_pricing.so
 */
#include "b2b_pricing_shell.h"
#include "http_protocol.h"
#include "http_core.h"
#include "apr_strings.h"

/* ---- configuration ------------------------------------------------------ */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    b2b_pricing_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    (void)s;
    conf->shm_size = -1;
    conf->staleness = -1;
    conf->engine = B2B_ENGINE_UNSET;
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    b2b_pricing_conf_t *base = basev, *add = addv;
    b2b_pricing_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    conf->shm_size = add->shm_size != -1 ? add->shm_size : base->shm_size;
    conf->staleness = add->staleness != -1 ? add->staleness : base->staleness;
    conf->engine = add->engine != B2B_ENGINE_UNSET ? add->engine : base->engine;
    return conf;
}

b2b_pricing_conf_t *b2b_pricing_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &b2b_pricing_module);
}

apr_int64_t b2b_pricing_conf_shm(server_rec *s)
{
    apr_int64_t v = b2b_pricing_conf(s)->shm_size;
    return v == -1 ? B2B_PRICING_DEFAULT_SHM : v;
}

int b2b_pricing_conf_staleness(server_rec *s)
{
    int v = b2b_pricing_conf(s)->staleness;
    return v == -1 ? B2B_PRICING_DEFAULT_STALENESS : v;
}

static const char *set_shm(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    (void)dconf;
    if (*end == 'M' || *end == 'm') {
        v *= 1024 * 1024;
        end++;
    }
    else if (*end == 'G' || *end == 'g') {
        v *= APR_INT64_C(1024) * 1024 * 1024;
        end++;
    }
    if (*end || v < 1024 * 1024 || v > APR_INT64_C(64) * 1024 * 1024 * 1024) {
        return B2B_DIR_PRICING_SHM " takes a size from 1M to 64G (e.g. 256M); "
               "it holds two snapshots";
    }
    if (cmd->server->is_virtual) {
        return B2B_DIR_PRICING_SHM " is server-wide: set it outside <VirtualHost>";
    }
    b2b_pricing_conf(cmd->server)->shm_size = v;
    return NULL;
}

static const char *set_staleness(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    (void)dconf;
    if (*end || v < 1 || v > 3600) {
        return B2B_DIR_PRICING_STALENESS " takes seconds from 1 to 3600";
    }
    b2b_pricing_conf(cmd->server)->staleness = (int)v;
    return NULL;
}

static const char *set_engine(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    if (!strcasecmp(arg, "snapshot")) {
        b2b_pricing_conf(cmd->server)->engine = B2B_ENGINE_SNAPSHOT;
    }
    else if (!strcasecmp(arg, "sql")) {
        b2b_pricing_conf(cmd->server)->engine = B2B_ENGINE_SQL;
    }
    else {
        return B2B_DIR_PRICING_ENGINE " takes snapshot (default) or sql "
               "(the SQL reference resolver, for comparison benchmarks)";
    }
    return NULL;
}

static const command_rec pricing_directives[] = {
    AP_INIT_TAKE1(B2B_DIR_PRICING_SHM, set_shm, NULL, RSRC_CONF,
                  "Shared memory for price snapshots (two slots), e.g. 128M"),
    AP_INIT_TAKE1(B2B_DIR_PRICING_STALENESS, set_staleness, NULL, RSRC_CONF,
                  "Longest a price may lag a rule change when Redis is down, "
                  "in seconds (default 5)"),
    AP_INIT_TAKE1(B2B_DIR_PRICING_ENGINE, set_engine, NULL, RSRC_CONF,
                  "snapshot (default) or sql: where quotes are computed"),
    {NULL}
};

/* ---- optional functions ------------------------------------------------------ */

static b2b_status_t b2b_pricing_quote(const b2b_query_t *query, b2b_quote_t *out,
                                      apr_uint64_t *generation)
{
    unsigned slot;
    const void *snap = b2b_pricing_store() ? b2b_pricing_acquire(&slot) : NULL;
    b2b_status_t st;
    if (!snap) {
        *generation = 0;
        return B2B_ERR_BAD_SNAPSHOT;
    }
    st = b2b_resolve(snap, query, out);
    *generation = b2b_snapshot_generation(snap);
    b2b_pricing_release(slot);
    return st;
}

static apr_uint64_t b2b_pricing_generation(void)
{
    unsigned slot;
    const void *snap = b2b_pricing_store() ? b2b_pricing_acquire(&slot) : NULL;
    apr_uint64_t g = 0;
    if (snap) {
        g = b2b_snapshot_generation(snap);
        b2b_pricing_release(slot);
    }
    return g;
}

/* ---- status ---------------------------------------------------------------------- */

static json_t *pricing_status(b2b_req_t *req)
{
    b2b_pricing_shm_t *shm = b2b_pricing_store();
    apr_uint64_t now = (apr_uint64_t)apr_time_now();
    int in_service;
    (void)req;
    if (!shm) {
        return json_pack("{s:s}", "state", "off");
    }
    in_service = shm->active < B2B_SLOT_NONE;
    return json_pack("{s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o,s:o,s:I,s:s}",
        "state", in_service ? "serving" : "building",
        "generation", (json_int_t)(in_service ? shm->generation : 0),
        "database_version", (json_int_t)shm->db_version,
        "age_ms", in_service ? json_integer((json_int_t)(now - shm->built_at_us) / 1000)
                             : json_null(),
        "last_check_ms_ago", shm->last_check_us
            ? json_integer((json_int_t)(now - shm->last_check_us) / 1000) : json_null(),
        "last_build_ms", (json_int_t)(shm->build_us / 1000),
        "rules", (json_int_t)shm->rules,
        "bytes", (json_int_t)shm->bytes,
        "slot_bytes", (json_int_t)shm->slot_size,
        "builds_full", (json_int_t)shm->builds_full,
        "builds_incremental", (json_int_t)shm->builds_incremental,
        "redis_connected", shm->redis_up != 0,
        "max_staleness_s", json_integer(b2b_pricing_conf_staleness(req->r->server)),
        "engine", json_string(b2b_pricing_conf(req->r->server)->engine == B2B_ENGINE_SQL
                              ? "sql" : "snapshot"),
        "build_failures", (json_int_t)shm->build_failures,
        "last_error", shm->last_error);
}

/* ---- hooks -------------------------------------------------------------------------- */

static int pricing_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf; (void)plog; (void)ptemp;
    b2b_pricing_routes_register();
    b2b_pricing_admin_register();
    b2b_status_add("pricing", pricing_status);
    return OK;
}

/* Before the core hands our statements to mod_dbd. */
static int pricing_post_config_dbd(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog; (void)ptemp;
    b2b_pricing_http_prepare(s);
    return OK;
}

static int pricing_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)plog; (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (b2b_pricing_store_init(s, pconf) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* registered before the core forks the worker (APR_HOOK_REALLY_LAST) */
    b2b_worker_task_add("pricing", b2b_pricing_worker_task, NULL);
    return OK;
}

static void pricing_register_hooks(apr_pool_t *p)
{
    static const char *const after_core[] = { "mod_b2bportal.c", NULL };
    static const char *const before_core[] = { "mod_b2bportal.c", "mod_dbd.c", NULL };
    (void)p;
    ap_hook_post_config(pricing_post_config_dbd, NULL, before_core, APR_HOOK_MIDDLE);
    ap_hook_pre_config(pricing_pre_config, after_core, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pricing_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_optional_fn_retrieve(b2b_pricing_http_optional_fns, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(b2b_pricing_quote);
    APR_REGISTER_OPTIONAL_FN(b2b_pricing_generation);
}

AP_DECLARE_MODULE(b2b_pricing) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server_conf,
    merge_server_conf,
    pricing_directives,
    pricing_register_hooks,
    AP_MODULE_FLAG_NONE
};
