/*
 * b2b_catalog_cache.c: the catalog's shared state. A small anonymous shared
 * segment with the versions and counters (lock-free, atomics), and product
 * content in httpd's shared object cache (mod_socache_shmcb) behind a global
 * mutex, the way mod_authn_socache does it: the mutex type is registered in
 * pre_config, created in post_config, joined in child_init.
 *
 * Our hooks are registered from the core's pre_config (b2b_catalog_register):
 * httpd sorts every hook again after the configuration is read, so they run
 * in the usual order; post_config at MIDDLE comes before the core forks the
 * worker (REALLY_LAST), which therefore inherits both segments.
 */
#include "b2b_catalog.h"
#include "ap_socache.h"
#include "http_core.h"
#include "ap_provider.h"
#include "util_mutex.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

static b2b_catalog_shm_t *shm;
static apr_shm_t *shm_seg;
static b2b_catalog_shm_t local_shm;   /* before post_config, or if shm failed */

static const ap_socache_provider_t *provider;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;
static server_rec *cache_server;

int b2b_catalog_content_ttl(server_rec *s)
{
    int v = b2b_server_conf(s)->content_ttl;
    return v == B2B_UNSET ? B2B_DEFAULT_CONTENT_TTL : v;
}

int b2b_catalog_inventory_max_age(server_rec *s)
{
    int v = b2b_server_conf(s)->inventory_max_age;
    return v == B2B_UNSET ? B2B_DEFAULT_INVENTORY_MAX_AGE : v;
}

int b2b_catalog_replica_max_lag(server_rec *s)
{
    int v = b2b_server_conf(s)->replica_max_lag;
    return v == B2B_UNSET ? B2B_DEFAULT_REPLICA_MAX_LAG : v;
}

const char *b2b_catalog_replica_conninfo(server_rec *s)
{
    return b2b_server_conf(s)->catalog_replica;
}

b2b_catalog_shm_t *b2b_catalog_shm(void)
{
    return shm ? shm : &local_shm;
}

int b2b_catalog_cache_on(void)
{
    return instance != NULL && mutex != NULL;
}

/* The segment and the cache belong to pconf; destroy them before APR frees
 * the memory under them (a plain cleanup would run too late on a graceful
 * restart). */
static apr_status_t cache_destroy(void *data)
{
    server_rec *s = data;
    if (provider && instance) {
        provider->destroy(instance, s);
    }
    instance = NULL;
    mutex = NULL;
    shm = NULL;
    return APR_SUCCESS;
}

static int catalog_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    b2b_server_conf_t *conf = b2b_server_conf(s);
    apr_int64_t size = conf->content_cache_size == B2B_UNSET
                       ? B2B_DEFAULT_CONTENT_CACHE_SIZE : conf->content_cache_size;
    struct ap_socache_hints hints;
    const char *err, *arg;
    apr_status_t rv;
    (void)plog;

    instance = NULL;
    mutex = NULL;
    shm = NULL;
    memset(&local_shm, 0, sizeof(local_shm));
    /* the first pass is a dry run: allocate nothing */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    cache_server = s;
    rv = apr_shm_create(&shm_seg, sizeof(b2b_catalog_shm_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(04001)
                     "catalog: cannot create the shared version segment");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    shm = apr_shm_baseaddr_get(shm_seg);
    memset(shm, 0, sizeof(*shm));
    shm->magic = B2B_CATALOG_SHM_MAGIC;
    shm->replica_state = conf->catalog_replica ? B2B_REPLICA_UNKNOWN : B2B_REPLICA_NONE;
    shm->detail_epoch = 1;

    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                  AP_SOCACHE_PROVIDER_VERSION);
    if (!provider) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04002)
                     "catalog: mod_socache_shmcb is not loaded; product content "
                     "is read from the database on every request (add "
                     "'LoadModule socache_shmcb_module')");
        return OK;
    }
    arg = apr_psprintf(ptemp, "%s(%" APR_INT64_T_FMT ")",
                       ap_runtime_dir_relative(ptemp, "b2b-catalog-cache"), size);
    err = provider->create(&instance, arg, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, B2BLOG(04003)
                     "catalog: cannot create the content cache: %s", err);
        instance = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = ap_global_mutex_create(&mutex, NULL, B2B_CATALOG_MUTEX, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(04004)
                     "catalog: cannot create the content cache mutex");
        instance = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    hints.avg_id_len = 64;
    hints.avg_obj_size = 4096;
    hints.expiry_interval = apr_time_from_sec(30);
    rv = provider->init(instance, "b2b-catalog", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(04005)
                     "catalog: cannot initialise the content cache");
        instance = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_pre_cleanup_register(pconf, s, cache_destroy);
    return OK;
}

void b2b_catalog_cache_attach(apr_pool_t *p, server_rec *s)
{
    if (mutex) {
        apr_status_t rv = apr_global_mutex_child_init(
            &mutex, apr_global_mutex_lockfile(mutex), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(04006)
                         "catalog: cannot join the content cache mutex; "
                         "caching is off in this process");
            mutex = NULL;
        }
    }
}

static void catalog_child_init(apr_pool_t *pchild, server_rec *s)
{
    b2b_catalog_cache_attach(pchild, s);
    b2b_catalog_db_child_init(pchild, s);
}

void b2b_catalog_cache_register(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, B2B_CATALOG_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    ap_hook_post_config(catalog_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(catalog_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

/* Ids are a 4-byte hash and the key (shmcb picks the subcache from the
 * first byte); keys are short, a stack buffer does. */
#define ID_MAX 1024

apr_status_t b2b_catalog_cache_get(server_rec *s, const char *key,
                                   unsigned char *buf, unsigned int *len)
{
    unsigned char id[ID_MAX];
    size_t idlen;
    apr_status_t rv;

    if (!b2b_catalog_cache_on()) {
        return APR_NOTFOUND;
    }
    idlen = b2b_cq_cache_id(key, strlen(key), id, sizeof(id));
    if (!idlen) {
        return APR_NOTFOUND;
    }
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    /* shmcb retrieve only reads: no pool use, none given */
    rv = provider->retrieve(instance, s, id, (unsigned int)idlen, buf, len, NULL);
    apr_global_mutex_unlock(mutex);
    if (rv == APR_SUCCESS) {
        apr_atomic_inc64(&b2b_catalog_shm()->hits);
    }
    else {
        apr_atomic_inc64(&b2b_catalog_shm()->misses);
    }
    return rv;
}

apr_status_t b2b_catalog_cache_put(server_rec *s, const char *key,
                                   const unsigned char *data, unsigned int len,
                                   apr_time_t expiry, apr_pool_t *p)
{
    unsigned char id[ID_MAX];
    size_t idlen;
    apr_status_t rv;

    if (!b2b_catalog_cache_on()) {
        return APR_ENOTIMPL;
    }
    idlen = b2b_cq_cache_id(key, strlen(key), id, sizeof(id));
    if (!idlen) {
        return APR_EINVAL;
    }
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    rv = provider->store(instance, s, id, (unsigned int)idlen, expiry,
                         (unsigned char *)data, len, p);
    apr_global_mutex_unlock(mutex);
    if (rv == APR_SUCCESS) {
        apr_atomic_inc64(&b2b_catalog_shm()->stores);
    }
    return rv;
}

void b2b_catalog_cache_remove(server_rec *s, const char *key, apr_pool_t *p)
{
    unsigned char id[ID_MAX];
    size_t idlen;

    if (!b2b_catalog_cache_on()) {
        return;
    }
    idlen = b2b_cq_cache_id(key, strlen(key), id, sizeof(id));
    if (!idlen || apr_global_mutex_lock(mutex) != APR_SUCCESS) {
        return;
    }
    provider->remove(instance, s, id, (unsigned int)idlen, p);
    apr_global_mutex_unlock(mutex);
}
