/*
 * b2b_pricing_store.c: compiled snapshots in shared memory.
 *
 * Two slots and an "active" index. Readers (every thread of every child)
 * count themselves into the active slot with one atomic increment, check it
 * is still active, read, and count out: no lock, and never a half-built
 * snapshot. The one writer (the worker) builds into the slot nobody reads
 * and then flips the index.
 *
 * The segment lives in the process pool, not pconf, so a graceful restart
 * keeps the snapshot in service while the new worker rebuilds; it is only
 * recreated when B2BPricingShmSize changes.
 */
#include "b2b_pricing_shell.h"
#include "apr_shm.h"
#include "apr_atomic.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2b_pricing);

#define STORE_MAGIC  0xb2b9c0deU
#define STORE_LAYOUT 1u
#define ALIGN64(x) (((x) + 63) & ~(apr_uint64_t)63)

static b2b_pricing_shm_t *store;

b2b_pricing_shm_t *b2b_pricing_store(void)
{
    return store;
}

apr_status_t b2b_pricing_store_init(server_rec *s, apr_pool_t *pconf)
{
    const char *key = "b2b_pricing_shm";
    apr_pool_t *ppool = s->process->pool;
    apr_uint64_t want = (apr_uint64_t)b2b_pricing_conf_shm(s);
    apr_uint64_t header = ALIGN64(sizeof(b2b_pricing_shm_t));
    apr_uint64_t slot = ALIGN64((want - header) / 2 - 64);
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    (void)pconf;

    apr_pool_userdata_get((void **)&shm, key, ppool);
    if (shm && apr_shm_size_get(shm) == want) {
        store = apr_shm_baseaddr_get(shm);
        if (store->magic == STORE_MAGIC && store->layout == STORE_LAYOUT) {
            return APR_SUCCESS;          /* kept across the restart */
        }
    }
    if (shm) {
        /* size changed: the old one goes, buyers get 503 until the rebuild */
        apr_shm_destroy(shm);
        apr_pool_userdata_set(NULL, key, apr_pool_cleanup_null, ppool);
    }
    rv = apr_shm_create(&shm, (apr_size_t)want, NULL, ppool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(03001)
                     "cannot create %" APR_UINT64_T_FMT " bytes of shared memory "
                     "for price snapshots: lower " B2B_DIR_PRICING_SHM
                     " or raise the system's limit", want);
        return rv;
    }
    apr_pool_userdata_set(shm, key, apr_pool_cleanup_null, ppool);
    store = apr_shm_baseaddr_get(shm);
    memset(store, 0, sizeof(*store));
    store->slot_size = slot;
    store->slot_offset[0] = header;
    store->slot_offset[1] = header + slot;
    store->active = B2B_SLOT_NONE;
    store->magic = STORE_MAGIC;
    store->layout = STORE_LAYOUT;
    return APR_SUCCESS;
}

const void *b2b_pricing_acquire(unsigned *slot)
{
    for (;;) {
        apr_uint32_t a = apr_atomic_read32(&store->active);
        if (a >= B2B_SLOT_NONE) {
            return NULL;
        }
        apr_atomic_inc32(&store->readers[a]);
        if (apr_atomic_read32(&store->active) == a) {
            *slot = a;
            return (const char *)store + store->slot_offset[a];
        }
        /* flipped under us: step out of that slot and take the new one */
        apr_atomic_dec32(&store->readers[a]);
    }
}

void b2b_pricing_release(unsigned slot)
{
    apr_atomic_dec32(&store->readers[slot]);
}

void *b2b_pricing_begin_write(unsigned *slot)
{
    apr_uint32_t a = apr_atomic_read32(&store->active);
    apr_uint32_t target = a == 0 ? 1 : 0;
    int spins = 0;

    /* a reader that saw this slot active before the last flip may still be
     * in it; readers hold a slot for microseconds */
    while (apr_atomic_read32(&store->readers[target]) != 0) {
        apr_sleep(spins++ < 100 ? 100 : 1000);
    }
    *slot = target;
    return (char *)store + store->slot_offset[target];
}

void b2b_pricing_publish(unsigned slot, apr_uint64_t generation,
                         const b2b_build_stats_t *stats, apr_uint64_t build_us,
                         int incremental)
{
    store->generation = generation;
    store->built_at_us = (apr_uint64_t)apr_time_now();
    store->build_us = build_us;
    store->rules = stats->rules;
    store->bytes = stats->size;
    if (incremental) {
        store->builds_incremental++;
    }
    else {
        store->builds_full++;
    }
    apr_atomic_set32(&store->active, slot);
}

void b2b_pricing_note_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(store->last_error, sizeof(store->last_error), fmt, ap);
    va_end(ap);
    store->build_failures++;
}
