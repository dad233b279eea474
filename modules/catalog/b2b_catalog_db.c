/*
 * b2b_catalog_db.c: where catalog reads go. The primary is mod_dbd's pool
 * (b2b_db); a read replica (B2BCatalogReplica) gets a pool of its own in
 * each child, an apr_reslist of apr_dbd connections with the catalog's
 * statements prepared on each, as mod_dbd does for the primary.
 *
 * The replica is used only while the worker has seen it healthy recently and
 * its lag is within B2BCatalogReplicaMaxLag; a query that fails on it marks
 * it down for every process (the worker brings it back) and is run again on
 * the primary, so a dead replica costs one failed query, not an error.
 */
#include "b2b_catalog.h"
#include "apr_reslist.h"
#include "apr_strings.h"
#include "ap_mpm.h"

APLOG_USE_MODULE(b2bportal);

typedef struct stmt_t {
    const char *label;
    const char *sql;
} stmt_t;

/* Every statement with outside data is prepared; values arrive as %s. */
static const stmt_t statements[] = {
    { "b2b_catalog_versions",
      "SELECT version, access_version FROM catalog_state WHERE id = 1" },
    { "b2b_catalog_hidden",
      "SELECT array_to_string(b2b_catalog_hidden_keys(%s::bigint), ','), "
      "(SELECT access_version FROM catalog_state WHERE id = 1)" },
    { "b2b_catalog_page",
      "SELECT product_id, sku, card_json, total, version "
      "FROM b2b_catalog_page(string_to_array(%s, ','), %s, %s, "
      "nullif(%s::bigint, 0), %s, %s::integer, %s::integer, %s::boolean)" },
    { "b2b_catalog_detail",
      "SELECT c.product_id, c.access_key, c.brackets, c.detail_json, s.version "
      "FROM catalog_state s LEFT JOIN catalog_cards c ON c.sku = %s WHERE s.id = 1" },
    { "b2b_catalog_categories",
      "SELECT id, code, name, coalesce(parent_id, 0), products, version, access_version "
      "FROM b2b_catalog_category_counts(string_to_array(%s, ','))" },
    { "b2b_catalog_stock",
      "SELECT product_id, available, as_of_us "
      "FROM b2b_catalog_stock(string_to_array(%s, ',')::bigint[])" },
    { NULL, NULL }
};

typedef struct replica_conn_t {
    apr_pool_t *pool;
    apr_dbd_t *handle;
    apr_hash_t *prepared;
} replica_conn_t;

static const apr_dbd_driver_t *replica_driver;
static apr_reslist_t *replica_pool;
static const char *replica_params;
static server_rec *replica_server;
/* per child: after a failed connect, leave the replica alone for a moment */
static volatile apr_uint64_t replica_retry_after_us;

void b2b_catalog_db_register(void)
{
    const stmt_t *st;
    for (st = statements; st->label; st++) {
        b2b_db_prepare(st->label, st->sql);
    }
    replica_pool = NULL;
    replica_driver = NULL;
}

void b2b_catalog_replica_failed(server_rec *s, const char *why)
{
    b2b_catalog_shm_t *shm = b2b_catalog_shm();
    if (apr_atomic_xchg32(&shm->replica_state, B2B_REPLICA_DOWN) == B2B_REPLICA_OK) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(04020)
                     "catalog: the read replica failed (%s); catalog reads use "
                     "the primary until it answers again", why ? why : "no detail");
    }
    apr_atomic_set64(&replica_retry_after_us,
                     (apr_uint64_t)(apr_time_now() + apr_time_from_sec(2)));
}

static apr_status_t replica_construct(void **resource, void *params, apr_pool_t *pool)
{
    replica_conn_t *c;
    apr_pool_t *p;
    const char *err = NULL;
    const stmt_t *st;
    apr_status_t rv;
    (void)params;

    if ((rv = apr_pool_create(&p, pool)) != APR_SUCCESS) {
        return rv;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->pool = p;
    rv = apr_dbd_open_ex(replica_driver, p, replica_params, &c->handle, &err);
    if (rv != APR_SUCCESS) {
        b2b_catalog_replica_failed(replica_server, err ? err : "cannot connect");
        apr_pool_destroy(p);
        return rv == APR_SUCCESS ? APR_EGENERAL : rv;
    }
    c->prepared = apr_hash_make(p);
    for (st = statements; st->label; st++) {
        apr_dbd_prepared_t *stmt = NULL;
        if (apr_dbd_prepare(replica_driver, p, c->handle, st->sql, st->label, &stmt)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, replica_server, B2BLOG(04021)
                         "catalog: cannot prepare %s on the replica: %s", st->label,
                         apr_dbd_error(replica_driver, c->handle, 1));
            apr_dbd_close(replica_driver, c->handle);
            apr_pool_destroy(p);
            b2b_catalog_replica_failed(replica_server, "prepare failed");
            return APR_EGENERAL;
        }
        apr_hash_set(c->prepared, st->label, APR_HASH_KEY_STRING, stmt);
    }
    *resource = c;
    return APR_SUCCESS;
}

static apr_status_t replica_destruct(void *resource, void *params, apr_pool_t *pool)
{
    replica_conn_t *c = resource;
    (void)params; (void)pool;
    if (c && c->handle) {
        apr_dbd_close(replica_driver, c->handle);
        c->handle = NULL;
    }
    if (c) {
        apr_pool_destroy(c->pool);
    }
    return APR_SUCCESS;
}

void b2b_catalog_db_child_init(apr_pool_t *p, server_rec *s)
{
    const char *params = b2b_catalog_replica_conninfo(s);
    int threads = 1;
    apr_status_t rv;

    replica_pool = NULL;
    if (!params) {
        return;
    }
    /* a replica that does not answer must not hold a request for long */
    replica_params = ap_strstr_c(params, "connect_timeout")
                     ? params : apr_pstrcat(p, params, " connect_timeout=3", NULL);
    replica_server = s;
    if (apr_dbd_get_driver(p, "pgsql", &replica_driver) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(04022)
                     "catalog: the pgsql DBD driver is missing; the replica is "
                     "not used");
        return;
    }
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1) {
        threads = 1;
    }
    rv = apr_reslist_create(&replica_pool, 0, threads < 4 ? threads : 4, threads,
                            apr_time_from_sec(60), replica_construct,
                            replica_destruct, NULL, p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, B2BLOG(04023)
                     "catalog: cannot create the replica connection pool");
        replica_pool = NULL;
        return;
    }
    apr_pool_pre_cleanup_register(p, replica_pool,
                                  (apr_status_t (*)(void *))apr_reslist_destroy);
}

int b2b_catalog_replica_usable(server_rec *s)
{
    b2b_catalog_shm_t *shm = b2b_catalog_shm();
    apr_time_t now = apr_time_now();
    if (!replica_pool
        || apr_atomic_read32(&shm->replica_state) != B2B_REPLICA_OK
        || now - (apr_time_t)apr_atomic_read64(&shm->replica_checked_us)
           > B2B_CATALOG_POLL_STALE
        || (apr_time_t)apr_atomic_read64(&replica_retry_after_us) > now) {
        return 0;
    }
    return apr_atomic_read64(&shm->replica_lag_ms)
           <= (apr_uint64_t)b2b_catalog_replica_max_lag(s) * 1000;
}

static apr_status_t release_on_cleanup(void *data)
{
    b2b_catalog_db_t *db = data;
    if (db->resource) {
        apr_reslist_release(replica_pool, db->resource);
        db->resource = NULL;
    }
    return APR_SUCCESS;
}

void b2b_catalog_db_close(b2b_catalog_db_t *db, int broken)
{
    if (db->replica && db->resource) {
        apr_pool_cleanup_kill(db->r->pool, db, release_on_cleanup);
        if (broken) {
            apr_reslist_invalidate(replica_pool, db->resource);
        }
        else {
            apr_reslist_release(replica_pool, db->resource);
        }
        db->resource = NULL;
    }
    db->handle = NULL;
}

int b2b_catalog_db_open(request_rec *r, int want_replica, b2b_catalog_db_t *db)
{
    ap_dbd_t *dbd;
    memset(db, 0, sizeof(*db));
    db->r = r;
    if (want_replica && b2b_catalog_replica_usable(r->server)) {
        void *res = NULL;
        if (apr_reslist_acquire(replica_pool, &res) == APR_SUCCESS) {
            replica_conn_t *c = res;
            /* a dropped connection is reset here, or reported */
            if (apr_dbd_check_conn(replica_driver, r->pool, c->handle) == APR_SUCCESS) {
                db->driver = replica_driver;
                db->handle = c->handle;
                db->prepared = c->prepared;
                db->replica = 1;
                db->resource = res;
                apr_pool_cleanup_register(r->pool, db, release_on_cleanup,
                                          apr_pool_cleanup_null);
                return 0;
            }
            apr_reslist_invalidate(replica_pool, res);
            b2b_catalog_replica_failed(r->server, "connection lost");
        }
    }
    dbd = b2b_db(r);
    if (!dbd) {
        return -1;
    }
    db->driver = dbd->driver;
    db->handle = dbd->handle;
    db->prepared = dbd->prepared;
    return 0;
}

apr_array_header_t *b2b_catalog_db_select(b2b_catalog_db_t *db, const char *label,
                                          int nargs, const char **args)
{
    request_rec *r = db->r;
    apr_dbd_prepared_t *st;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *rows;
    int rv, cols, i, n, k;

    if (!db->handle) {
        return NULL;
    }
    st = apr_hash_get(db->prepared, label, APR_HASH_KEY_STRING);
    if (!st) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(04024)
                      "catalog: statement %s is not prepared on the %s (is "
                      "sql/020_catalog_read_model.sql applied?)", label,
                      db->replica ? "replica" : "primary");
        return NULL;
    }
    /* random access: the whole (small) result arrives at once, so a broken
     * connection is an error here and not a silently short result */
    rv = apr_dbd_pselect(db->driver, r->pool, db->handle, &res, st, 1, nargs, args);
    if (rv) {
        ap_log_rerror(APLOG_MARK, db->replica ? APLOG_WARNING : APLOG_ERR, 0, r,
                      B2BLOG(04025) "catalog: %s failed on the %s: %s", label,
                      db->replica ? "replica" : "primary",
                      apr_dbd_error(db->driver, db->handle, rv));
        return NULL;
    }
    apr_atomic_inc64(db->replica ? &b2b_catalog_shm()->reads_replica
                                 : &b2b_catalog_shm()->reads_primary);
    n = apr_dbd_num_tuples(db->driver, res);
    cols = apr_dbd_num_cols(db->driver, res);
    rows = apr_array_make(r->pool, n > 0 ? n : 1, sizeof(const char **));
    for (k = 1; k <= n && apr_dbd_get_row(db->driver, r->pool, res, &row, k) == 0; k++) {
        const char **vals;
        vals = apr_palloc(r->pool, sizeof(char *) * (cols > 0 ? cols : 1));
        for (i = 0; i < cols; i++) {
            const char *v = apr_dbd_get_entry(db->driver, row, i);
            vals[i] = v ? apr_pstrdup(r->pool, v) : NULL;
        }
        APR_ARRAY_PUSH(rows, const char **) = vals;
    }
    return rows;
}
