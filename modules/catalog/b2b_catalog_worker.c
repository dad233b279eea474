/*
 * b2b_catalog_worker.c: the catalog's task in the background worker.
 *
 * Every 250 ms it reads catalog_state on the primary and publishes the
 * versions to the shared segment; for each SKU catalog_changes names since
 * the last poll it removes that product's detail from the content cache
 * (many at once, or a gap: a new detail epoch instead). The version is
 * published before the removals, so a request that read a product before the
 * change and stores it after our removal notices the newer version and takes
 * its entry back (see store_detail in b2b_catalog_http.c).
 *
 * With a read replica configured it also writes a heartbeat on the primary
 * once a second and reads it back on the replica: the difference is the
 * replication lag (the replica's own replay timestamps stand still when the
 * primary is idle, a heartbeat does not), and a replica that does not answer
 * is marked down. Everything here can be lost: a new worker starts over.
 */
#include "b2b_catalog.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define CHANGES_MAX 1000

typedef struct conn_t {
    apr_pool_t *pool;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *stmts;
} conn_t;

static void conn_close(conn_t *c)
{
    if (c->handle) {
        apr_dbd_close(c->driver, c->handle);
        c->handle = NULL;
    }
    if (c->pool) {
        apr_pool_destroy(c->pool);
        c->pool = NULL;
    }
}

static int conn_prepare(conn_t *c, const char *label, const char *sql)
{
    apr_dbd_prepared_t *st = NULL;
    if (apr_dbd_prepare(c->driver, c->pool, c->handle, sql, label, &st)) {
        return -1;
    }
    apr_hash_set(c->stmts, label, APR_HASH_KEY_STRING, st);
    return 0;
}

/* Rows of a prepared select (random access, small results), or NULL. */
static apr_dbd_results_t *conn_select(conn_t *c, apr_pool_t *p, const char *label,
                                      int nargs, const char **args)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_prepared_t *st = apr_hash_get(c->stmts, label, APR_HASH_KEY_STRING);
    if (!st || apr_dbd_pselect(c->driver, p, c->handle, &res, st, 1, nargs, args)) {
        return NULL;
    }
    return res;
}

static const char *entry(conn_t *c, apr_pool_t *p, apr_dbd_results_t *res, int rownum,
                         int col)
{
    apr_dbd_row_t *row = NULL;
    if (apr_dbd_get_row(c->driver, p, res, &row, rownum) != 0) {
        return NULL;
    }
    return apr_dbd_get_entry(c->driver, row, col);
}

static int primary_open(b2b_worker_ctx_t *ctx, conn_t *c)
{
    if (apr_pool_create(&c->pool, b2b_worker_pool(ctx)) != APR_SUCCESS) {
        return -1;
    }
    if (b2b_worker_db_open(ctx, c->pool, &c->driver, &c->handle) != APR_SUCCESS) {
        c->handle = NULL;
        conn_close(c);
        return -1;
    }
    c->stmts = apr_hash_make(c->pool);
    if (conn_prepare(c, "cw_state",
                     "SELECT version, access_version FROM catalog_state WHERE id = 1")
        || conn_prepare(c, "cw_changes",
                        "SELECT version, sku FROM catalog_changes "
                        "WHERE version > %s::bigint ORDER BY version LIMIT 1001")
        || conn_prepare(c, "cw_heartbeat",
                        "UPDATE catalog_heartbeat SET at = clock_timestamp() WHERE id = 1")
        || conn_prepare(c, "cw_index",
                        /* one statement, one snapshot: the version is the
                         * one these rows are at */
                        "SELECT s.version, c.sku, c.access_key FROM catalog_state s "
                        "LEFT JOIN catalog_cards c ON true WHERE s.id = 1")
        || conn_prepare(c, "cw_prune",
                        "DELETE FROM catalog_changes "
                        "WHERE changed_at < now() - interval '1 hour'")) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, b2b_worker_server(ctx), B2BLOG(04030)
                     "catalog worker: cannot prepare its statements (%s); is "
                     "sql/020_catalog_read_model.sql applied?",
                     apr_dbd_error(c->driver, c->handle, 1));
        conn_close(c);
        return -1;
    }
    return 0;
}

static int replica_open(server_rec *s, apr_pool_t *parent, const char *params, conn_t *c,
                        const char **err)
{
    *err = NULL;
    if (apr_pool_create(&c->pool, parent) != APR_SUCCESS) {
        return -1;
    }
    if (apr_dbd_get_driver(c->pool, "pgsql", &c->driver) != APR_SUCCESS
        || apr_dbd_open_ex(c->driver, c->pool, params, &c->handle, err) != APR_SUCCESS) {
        c->handle = NULL;
        conn_close(c);
        return -1;
    }
    c->stmts = apr_hash_make(c->pool);
    if (conn_prepare(c, "cw_lag",
                     "SELECT (extract(epoch FROM clock_timestamp() - at) * 1000)::bigint, "
                     "pg_is_in_recovery()::integer FROM catalog_heartbeat WHERE id = 1")) {
        *err = apr_pstrdup(parent, apr_dbd_error(c->driver, c->handle, 1));
        conn_close(c);
        (void)s;
        return -1;
    }
    return 0;
}

static void set_replica(server_rec *s, b2b_catalog_shm_t *shm, b2b_replica_state_t state,
                        apr_uint64_t lag_ms, const char *why)
{
    apr_uint32_t old = apr_atomic_xchg32(&shm->replica_state, state);
    apr_atomic_set64(&shm->replica_lag_ms, lag_ms);
    apr_atomic_set64(&shm->replica_checked_us, (apr_uint64_t)apr_time_now());
    if (why) {
        apr_cpystrn(shm->replica_error, why, sizeof(shm->replica_error));
    }
    if (old == state) {
        return;
    }
    switch (state) {
    case B2B_REPLICA_OK:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, B2BLOG(04031)
                     "catalog: the read replica is up (lag %" APR_UINT64_T_FMT
                     " ms); catalog reads go to it", lag_ms);
        break;
    case B2B_REPLICA_LAGGING:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04032)
                     "catalog: the read replica lags %" APR_UINT64_T_FMT " ms, more "
                     "than " B2B_DIR_REPLICA_MAX_LAG "; catalog reads use the primary",
                     lag_ms);
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04033)
                     "catalog: the read replica is down (%s); catalog reads use "
                     "the primary", why ? why : "no detail");
        break;
    }
}

/* New versions from the primary: publish them, then invalidate. */
static void apply_versions(server_rec *s, conn_t *c, apr_pool_t *p, b2b_catalog_shm_t *shm,
                           apr_uint64_t *last, apr_uint64_t version, apr_uint64_t access)
{
    apr_uint64_t published = apr_atomic_read64(&shm->content_version);
    const char *arg;
    apr_dbd_results_t *res;
    int n, i, full = 0;

    apr_atomic_set64(&shm->access_version, access);
    if (version == *last) {
        return;
    }
    if (*last == 0) {
        /* a new worker: entries may predate changes nobody invalidated */
        full = published != 0 && published != version;
    }
    else if (version < *last) {
        full = 1;              /* the database was replaced */
    }
    if (full || *last == 0) {
        if (full) {
            apr_atomic_inc64(&shm->detail_epoch);
            apr_atomic_inc64(&shm->invalidations);
        }
        apr_atomic_set64(&shm->content_version, version);
        *last = version;
        return;
    }
    arg = apr_psprintf(p, "%" APR_UINT64_T_FMT, *last);
    res = conn_select(c, p, "cw_changes", 1, &arg);
    if (!res) {
        return;                /* try again next poll; nothing published yet */
    }
    n = apr_dbd_num_tuples(c->driver, res);
    for (i = 0; i < n && !full; i++) {
        if (!entry(c, p, res, i + 1, 1)) {
            full = 1;          /* a bulk change */
        }
    }
    if (n > CHANGES_MAX) {
        full = 1;
    }
    if (full) {
        apr_atomic_inc64(&shm->detail_epoch);
    }
    apr_atomic_set64(&shm->content_version, version);
    if (!full) {
        apr_uint64_t epoch = apr_atomic_read64(&shm->detail_epoch);
        for (i = 0; i < n; i++) {
            const char *sku = entry(c, p, res, i + 1, 1);
            if (sku) {
                b2b_catalog_cache_remove(s, apr_psprintf(p, "P|%" APR_UINT64_T_FMT "|%s",
                                                         epoch, sku), p);
            }
        }
    }
    apr_atomic_inc64(&shm->invalidations);
    *last = version;
}

/* The access index at the database's current version, into the slot no
 * reader is sent to; returns that version, 0 if it failed (tried again next
 * poll). Once per poll at most, and only when the version moved: a quiet
 * catalog costs nothing. */
static apr_uint64_t build_index(server_rec *s, conn_t *c, apr_pool_t *p,
                               b2b_catalog_shm_t *shm)
{
    apr_time_t t0 = apr_time_now();
    b2b_aix_builder_t *b;
    apr_dbd_results_t *res;
    apr_dbd_row_t *row = NULL;
    apr_uint64_t version = 0;
    apr_size_t cap = 0, used = 0;
    unsigned slot = 0;
    int bad = 0, i, n;
    void *dst;

    res = conn_select(c, p, "cw_index", 0, NULL);
    if (!res || !(b = b2b_aix_builder_new())) {
        return 0;              /* next poll */
    }
    n = apr_dbd_num_tuples(c->driver, res);
    for (i = 1; i <= n && apr_dbd_get_row(c->driver, p, res, &row, i) == 0; i++) {
        const char *sku = apr_dbd_get_entry(c->driver, row, 1);
        version = (apr_uint64_t)apr_atoi64(apr_dbd_get_entry(c->driver, row, 0));
        if (sku && *sku
            && b2b_aix_builder_add(b, sku, apr_dbd_get_entry(c->driver, row, 2)) != 0) {
            bad = 1;
        }
    }
    if (bad || !version) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04035)
                     "catalog worker: the access index could not be built (%s); "
                     "visibility checks read the content cache meanwhile",
                     bad ? "out of memory or a malformed row" : "no catalog_state");
        b2b_aix_builder_free(b);
        return 0;
    }
    if ((dst = b2b_catalog_index_write_begin(&cap, &slot)) != NULL) {
        used = b2b_aix_build(b, version, dst, cap);
        b2b_catalog_index_write_end(slot, used, version, b2b_aix_builder_count(b));
        if (!used) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04036)
                         "catalog worker: the access index for %lu products needs %lu "
                         "bytes per copy, more than half of " B2B_DIR_CATALOG_INDEX_SIZE
                         " (%lu); raise it. Visibility checks read the content cache "
                         "meanwhile", (unsigned long)b2b_aix_builder_count(b),
                         (unsigned long)b2b_aix_builder_size(b), (unsigned long)cap * 2);
        }
        apr_atomic_set64(&shm->index_build_ms, (apr_uint64_t)(apr_time_now() - t0) / 1000);
    }
    b2b_aix_builder_free(b);
    return version;
}

void b2b_catalog_worker_task(b2b_worker_ctx_t *ctx, void *baton)
{
    server_rec *s = b2b_worker_server(ctx);
    b2b_catalog_shm_t *shm = b2b_catalog_shm();
    const char *replica = b2b_catalog_replica_conninfo(s);
    conn_t primary = { 0 }, rep = { 0 };
    apr_uint64_t last = 0, index_for = 0;
    apr_time_t next_heartbeat = 0, next_prune = 0;
    apr_pool_t *iter;
    (void)baton;

    b2b_catalog_cache_attach(b2b_worker_pool(ctx), s);
    if (replica && !ap_strstr_c(replica, "connect_timeout")) {
        replica = apr_pstrcat(b2b_worker_pool(ctx), replica, " connect_timeout=3", NULL);
    }
    apr_pool_create(&iter, b2b_worker_pool(ctx));

    while (!b2b_worker_stopping(ctx)) {
        apr_time_t now = apr_time_now();
        apr_dbd_results_t *res;

        apr_pool_clear(iter);
        if (!primary.handle && primary_open(ctx, &primary) != 0) {
            b2b_worker_sleep(ctx, 1000);
            continue;
        }
        res = conn_select(&primary, iter, "cw_state", 0, NULL);
        if (!res || apr_dbd_num_tuples(primary.driver, res) != 1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04034)
                         "catalog worker: cannot read catalog_state (%s); reconnecting",
                         apr_dbd_error(primary.driver, primary.handle, 1));
            conn_close(&primary);
            b2b_worker_sleep(ctx, 1000);
            continue;
        }
        apply_versions(s, &primary, iter, shm, &last,
                       (apr_uint64_t)apr_atoi64(entry(&primary, iter, res, 1, 0)),
                       (apr_uint64_t)apr_atoi64(entry(&primary, iter, res, 1, 1)));
        apr_atomic_set64(&shm->polled_us, (apr_uint64_t)now);
        if (last && last != index_for) {
            /* the build may be at a newer version than we published: the
             * next poll publishes that one and finds the index current */
            apr_uint64_t built = build_index(s, &primary, iter, shm);
            index_for = built >= last ? built : index_for;
        }

        if (replica && now >= next_heartbeat) {
            int nrows = 0;
            apr_dbd_prepared_t *hb = apr_hash_get(primary.stmts, "cw_heartbeat",
                                                  APR_HASH_KEY_STRING);
            const char *err = NULL;
            next_heartbeat = now + apr_time_from_sec(1);
            if (!hb || apr_dbd_pquery(primary.driver, iter, primary.handle, &nrows, hb,
                                      0, NULL)) {
                conn_close(&primary);
                continue;
            }
            if (!rep.handle && replica_open(s, b2b_worker_pool(ctx), replica, &rep, &err)) {
                set_replica(s, shm, B2B_REPLICA_DOWN, 0, err ? err : "cannot connect");
            }
            else {
                res = conn_select(&rep, iter, "cw_lag", 0, NULL);
                const char *lag = res ? entry(&rep, iter, res, 1, 0) : NULL;
                const char *standby = res ? entry(&rep, iter, res, 1, 1) : NULL;
                if (!lag || !standby) {
                    set_replica(s, shm, B2B_REPLICA_DOWN, 0,
                                apr_dbd_error(rep.driver, rep.handle, 1));
                    conn_close(&rep);
                }
                else {
                    apr_int64_t ms = apr_atoi64(lag);
                    apr_uint64_t lag_ms = ms > 0 ? (apr_uint64_t)ms : 0;
                    set_replica(s, shm, lag_ms <= (apr_uint64_t)b2b_catalog_replica_max_lag(s)
                                                  * 1000 ? B2B_REPLICA_OK : B2B_REPLICA_LAGGING,
                                lag_ms, strcmp(standby, "1") ? "not a standby" : "");
                }
            }
        }
        if (now >= next_prune) {
            int nrows = 0;
            apr_dbd_prepared_t *st = apr_hash_get(primary.stmts, "cw_prune",
                                                  APR_HASH_KEY_STRING);
            next_prune = now + apr_time_from_sec(60);
            if (st) {
                apr_dbd_pquery(primary.driver, iter, primary.handle, &nrows, st, 0, NULL);
            }
        }
        b2b_worker_beat(ctx);
        b2b_worker_sleep(ctx, B2B_CATALOG_POLL_MS);
    }
    conn_close(&rep);
    conn_close(&primary);
}
