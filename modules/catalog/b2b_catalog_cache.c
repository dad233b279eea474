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
#include "apr_thread_mutex.h"

APLOG_USE_MODULE(b2bportal);

static b2b_catalog_shm_t *shm;
static apr_shm_t *shm_seg;
static b2b_catalog_shm_t local_shm;   /* before post_config, or if shm failed */
static apr_shm_t *index_seg;
static char *index_base;               /* two slots of index_slot bytes */
static apr_size_t index_slot;

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
    index_base = NULL;
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
    shm->index_active = B2B_INDEX_NONE;

    /* the access index: without it visibility goes through the content
     * cache, slower but the same answer */
    {
        apr_int64_t isize = conf->catalog_index_size == B2B_UNSET
                            ? B2B_DEFAULT_CATALOG_INDEX_SIZE : conf->catalog_index_size;
        index_base = NULL;
        rv = apr_shm_create(&index_seg, (apr_size_t)isize, NULL, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, B2BLOG(04007)
                         "catalog: cannot create the %" APR_INT64_T_FMT "-byte access "
                         "index (" B2B_DIR_CATALOG_INDEX_SIZE "); visibility checks "
                         "read the content cache instead", isize);
        }
        else {
            index_base = apr_shm_baseaddr_get(index_seg);
            index_slot = ((apr_size_t)isize / 2) & ~(apr_size_t)7;
        }
    }

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

/* ---- hidden keys, per process ----------------------------------------------
 * Every request of a buyer needs the access keys hidden from its account;
 * the shared cache has them, behind a cross-process mutex and a copy. A
 * process keeps the last lists it saw here, keyed like the shared entries
 * on the access version, so a rules change makes them unreachable at once.
 * Direct-mapped on the account: a collision just replaces. */
#define MEMO_SLOTS 1024

typedef struct {
    apr_uint64_t access_v;
    apr_int64_t account;
    char *hidden;              /* malloc'd; freed on replace and at exit */
} memo_slot_t;

static memo_slot_t *memo;
static apr_thread_mutex_t *memo_lock;

static apr_status_t memo_free(void *data)
{
    int i;
    (void)data;
    for (i = 0; memo && i < MEMO_SLOTS; i++) {
        free(memo[i].hidden);
    }
    memo = NULL;
    memo_lock = NULL;
    return APR_SUCCESS;
}

static void memo_init(apr_pool_t *pchild)
{
    memo = NULL;
    if (apr_thread_mutex_create(&memo_lock, APR_THREAD_MUTEX_DEFAULT, pchild)
        == APR_SUCCESS) {
        memo = apr_pcalloc(pchild, sizeof(*memo) * MEMO_SLOTS);
        apr_pool_cleanup_register(pchild, NULL, memo_free, apr_pool_cleanup_null);
    }
}

const char *b2b_catalog_memo_hidden(apr_uint64_t access_v, apr_int64_t account, apr_pool_t *p)
{
    memo_slot_t *m;
    const char *found = NULL;
    if (!memo || apr_thread_mutex_lock(memo_lock) != APR_SUCCESS) {
        return NULL;
    }
    m = &memo[(apr_uint64_t)account % MEMO_SLOTS];
    if (m->hidden && m->access_v == access_v && m->account == account) {
        found = apr_pstrdup(p, m->hidden);
    }
    apr_thread_mutex_unlock(memo_lock);
    return found;
}

void b2b_catalog_memo_hidden_put(apr_uint64_t access_v, apr_int64_t account,
                                 const char *hidden)
{
    memo_slot_t *m;
    char *copy = strdup(hidden);
    if (!copy) {
        return;
    }
    if (!memo || apr_thread_mutex_lock(memo_lock) != APR_SUCCESS) {
        free(copy);
        return;
    }
    m = &memo[(apr_uint64_t)account % MEMO_SLOTS];
    if (m->hidden && m->access_v > access_v && m->account == account) {
        free(copy);            /* a newer list is there already */
    }
    else {
        free(m->hidden);
        m->hidden = copy;
        m->access_v = access_v;
        m->account = account;
    }
    apr_thread_mutex_unlock(memo_lock);
}

static void catalog_child_init(apr_pool_t *pchild, server_rec *s)
{
    memo_init(pchild);
    b2b_catalog_cache_attach(pchild, s);
    b2b_catalog_db_child_init(pchild, s);
}

void b2b_catalog_cache_register(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, B2B_CATALOG_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    ap_hook_post_config(catalog_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(catalog_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

int b2b_catalog_index_key(apr_uint64_t version, const char *sku,
                          char key[B2B_AIX_KEY_MAX])
{
    b2b_catalog_shm_t *sh = b2b_catalog_shm();
    apr_uint32_t a = apr_atomic_read32(&sh->index_active), seq;
    const char *block;
    int rc;

    if (!index_base || a > 1) {
        return -1;
    }
    seq = __atomic_load_n(&sh->index_seq[a], __ATOMIC_ACQUIRE);
    if (seq & 1) {
        return -1;
    }
    block = index_base + (apr_size_t)a * index_slot;
    if (b2b_aix_version(block, index_slot) != version) {
        return -1;
    }
    rc = b2b_aix_lookup(block, index_slot, sku, key);
    /* the writer may have started over this slot meanwhile: then the
     * answer may be torn, whatever it says */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&sh->index_seq[a], __ATOMIC_RELAXED) != seq) {
        return -1;
    }
    return rc;
}

void *b2b_catalog_index_write_begin(apr_size_t *cap, unsigned *slot)
{
    b2b_catalog_shm_t *sh = b2b_catalog_shm();
    apr_uint32_t a = apr_atomic_read32(&sh->index_active);
    if (!index_base) {
        return NULL;
    }
    *slot = a == 0 ? 1 : 0;
    *cap = index_slot;
    __atomic_add_fetch(&sh->index_seq[*slot], 1, __ATOMIC_SEQ_CST);     /* odd */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return index_base + (apr_size_t)*slot * index_slot;
}

void b2b_catalog_index_write_end(unsigned slot, apr_size_t used, apr_uint64_t version,
                                 apr_uint64_t products)
{
    b2b_catalog_shm_t *sh = b2b_catalog_shm();
    __atomic_add_fetch(&sh->index_seq[slot], 1, __ATOMIC_RELEASE);      /* even */
    apr_atomic_set32(&sh->index_too_big, used == 0);
    if (used) {
        apr_atomic_set64(&sh->index_version, version);
        apr_atomic_set64(&sh->index_products, products);
        apr_atomic_set64(&sh->index_bytes, used);
        apr_atomic_set32(&sh->index_active, slot);
    }
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
