/*
 * b2b_catalog.h: private to the catalog (modules/catalog): the shared
 * segment with the versions caches are keyed on, the content cache (httpd's
 * socache, shmcb), catalog reads through a read replica with fallback to
 * the primary, and the worker task that keeps the versions and the replica's
 * health current.
 *
 * How freshness works, in one place:
 *   - content (cards, details, the category tree) is cached for
 *     B2BContentCacheTTL under keys that carry catalog_state.version (lists,
 *     categories) or a detail epoch (one product's detail). The worker polls
 *     catalog_state every 250 ms, publishes the versions here, and removes the
 *     detail entries of the SKUs catalog_changes names: a changed product is
 *     gone from the cache within a poll;
 *   - who sees what is keyed on catalog_state.access_version;
 *   - stock is cached at most B2BInventoryMaxAge from when it was read, and
 *     every answer says when that was (availability.as_of);
 *   - if the worker has not polled for a while (B2BWorker Off, or it is
 *     restarting) requests read the versions from the primary themselves.
 */
#ifndef B2B_CATALOG_H
#define B2B_CATALOG_H

#include "b2b_core.h"
#include "b2b_catalog_query.h"
#include "b2b_access_index.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"

#define B2B_CATALOG_MUTEX       "b2b-catalog-cache"
#define B2B_CATALOG_SHM_MAGIC   0xb2bca7a1U
#define B2B_CATALOG_POLL_MS     250
/* versions older than this are not trusted: read them from the database */
#define B2B_CATALOG_POLL_STALE  apr_time_from_sec(3)

typedef enum {
    B2B_REPLICA_NONE = 0,      /* not configured */
    B2B_REPLICA_UNKNOWN,       /* configured, not checked yet */
    B2B_REPLICA_OK,
    B2B_REPLICA_LAGGING,
    B2B_REPLICA_DOWN
} b2b_replica_state_t;

/* Anonymous shared memory: plain values, no pointers. */
typedef struct b2b_catalog_shm_t {
    apr_uint32_t magic;
    volatile apr_uint32_t replica_state;     /* b2b_replica_state_t */
    volatile apr_uint64_t content_version;   /* catalog_state.version */
    volatile apr_uint64_t access_version;    /* catalog_state.access_version */
    volatile apr_uint64_t detail_epoch;      /* bumped when every detail may be stale */
    volatile apr_uint64_t polled_us;         /* last poll of the worker */
    volatile apr_uint64_t replica_lag_ms;
    volatile apr_uint64_t replica_checked_us;
    volatile apr_uint64_t hits;
    volatile apr_uint64_t misses;
    volatile apr_uint64_t stores;
    volatile apr_uint64_t invalidations;
    volatile apr_uint64_t reads_primary;
    volatile apr_uint64_t reads_replica;
    volatile apr_uint64_t replica_fallbacks; /* replica failed or was behind */
    volatile apr_uint64_t stock_reads;
    volatile apr_uint64_t not_modified;
    /* the access index: two slots in their own segment, a seqlock each */
    volatile apr_uint32_t index_active;      /* 0, 1, or B2B_INDEX_NONE */
    volatile apr_uint32_t index_seq[2];      /* odd while the worker writes it */
    volatile apr_uint32_t index_too_big;     /* the last build did not fit */
    volatile apr_uint64_t index_version;     /* content version of the active slot */
    volatile apr_uint64_t index_products;
    volatile apr_uint64_t index_bytes;
    volatile apr_uint64_t index_build_ms;
    volatile apr_uint64_t index_answers;     /* visibility asked of the index */
    volatile apr_uint64_t index_fallbacks;   /* ... that had to read the content cache */
    char replica_error[200];
} b2b_catalog_shm_t;

#define B2B_INDEX_NONE 2

/* Server settings with their defaults applied. */
int b2b_catalog_content_ttl(server_rec *s);
int b2b_catalog_inventory_max_age(server_rec *s);
int b2b_catalog_replica_max_lag(server_rec *s);
const char *b2b_catalog_replica_conninfo(server_rec *s);

/* ---- b2b_catalog_cache.c ---------------------------------------------------- */

void b2b_catalog_cache_register(apr_pool_t *pconf);
b2b_catalog_shm_t *b2b_catalog_shm(void);
/* Joins the cache's mutex in a process forked after post_config (the
 * worker; children do it in child_init). */
void b2b_catalog_cache_attach(apr_pool_t *p, server_rec *s);
int b2b_catalog_cache_on(void);
/* key: text. len: room in buf on entry, bytes read on return. */
apr_status_t b2b_catalog_cache_get(server_rec *s, const char *key,
                                   unsigned char *buf, unsigned int *len);
apr_status_t b2b_catalog_cache_put(server_rec *s, const char *key,
                                   const unsigned char *data, unsigned int len,
                                   apr_time_t expiry, apr_pool_t *p);
void b2b_catalog_cache_remove(server_rec *s, const char *key, apr_pool_t *p);

/* The hidden access keys of an account at access version access_v as this
 * process last saw them (a copy in p), or NULL; and keeping them. */
const char *b2b_catalog_memo_hidden(apr_uint64_t access_v, apr_int64_t account,
                                    apr_pool_t *p);
void b2b_catalog_memo_hidden_put(apr_uint64_t access_v, apr_int64_t account,
                                 const char *hidden);

/* The access index (b2b_access_index.h) in shared memory. Readers: 1/0 as
 * b2b_aix_lookup for the catalog at content version; -1 when the index
 * cannot answer for that version right now (ask the content cache). */
int b2b_catalog_index_key(apr_uint64_t version, const char *sku,
                          char key[B2B_AIX_KEY_MAX]);
/* The worker, the only writer: the slot to write into (readers of it are
 * told to look away), then done with the block's size, or 0 if it did not
 * fit and the old index stays. NULL if there is no index segment. */
void *b2b_catalog_index_write_begin(apr_size_t *cap, unsigned *slot);
void b2b_catalog_index_write_end(unsigned slot, apr_size_t used, apr_uint64_t version,
                                 apr_uint64_t products);

/* ---- b2b_catalog_db.c ----------------------------------------------------------- */

typedef struct b2b_catalog_db_t {
    request_rec *r;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;        /* label -> apr_dbd_prepared_t */
    int replica;                 /* 1: a replica connection */
    void *resource;              /* the replica pool's entry */
} b2b_catalog_db_t;

/* Queues the catalog's statements with mod_dbd (primary) and keeps them for
 * replica connections. Call in pre_config. */
void b2b_catalog_db_register(void);
void b2b_catalog_db_child_init(apr_pool_t *p, server_rec *s);
/* Whether catalog reads may go to the replica right now. */
int b2b_catalog_replica_usable(server_rec *s);
/* A connection for catalog reads: the replica if usable and want_replica,
 * else the primary. 0, or -1 when neither answers. */
int b2b_catalog_db_open(request_rec *r, int want_replica, b2b_catalog_db_t *db);
/* Gives a replica connection back now (the primary's goes with the request). */
void b2b_catalog_db_close(b2b_catalog_db_t *db, int broken);
/* Runs a prepared select (the whole result at once). NULL on error. */
apr_array_header_t *b2b_catalog_db_select(b2b_catalog_db_t *db, const char *label,
                                          int nargs, const char **args);
/* The replica failed a query: other requests stop using it until the worker
 * sees it healthy again. */
void b2b_catalog_replica_failed(server_rec *s, const char *why);

/* ---- b2b_catalog_worker.c --------------------------------------------------------- */

void b2b_catalog_worker_task(b2b_worker_ctx_t *ctx, void *baton);

/* ---- b2b_catalog_bench.c (B2BDiagnostics On only) ------------------------------------ */

void b2b_catalog_bench_register(void);

/* ---- b2b_catalog_http.c ------------------------------------------------------------- */

void b2b_catalog_routes_register(void);

#endif
