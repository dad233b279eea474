/*
 * b2b_pricing_worker.c: the worker task that keeps this node's snapshot in
 * step with PostgreSQL.
 *
 * What changed is read from the database, never trusted from a message:
 * Redis (channel b2b:pricing) only wakes us at once. On a wake-up, and at
 * least every B2BPricingMaxStaleness seconds whether Redis is up or not, we
 * compare pricing_state.version with our generation G. When the change log
 * (price_rule_changes) covers every version after G with one narrow scope,
 * only that scope's rules are re-read and spliced into a copy of the
 * snapshot; anything else (a bulk load, a change by hand, several scopes)
 * is a full build. A build that fails or does not fit leaves the old
 * snapshot in service and says why in the log and in /admin/status.
 */
#include "b2b_pricing_shell.h"
#include "apr_strings.h"
#include <hiredis/hiredis.h>
#include <poll.h>

APLOG_USE_MODULE(b2b_pricing);

typedef struct pricing_db_t {
    apr_pool_t *pool;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_dbd_prepared_t *rules_account, *rules_group, *rules_sku, *changes;
} pricing_db_t;

static int select_into(b2b_worker_ctx_t *ctx, pricing_db_t *db, apr_pool_t *p,
                       const char *sql, apr_dbd_prepared_t *st, int nargs,
                       const char **args, b2b_input_t *in, b2b_row_kind_t kind)
{
    char why[200];
    int refused = b2b_pricing_load(db->driver, db->handle, p, sql, st, nargs, args,
                                   in, kind, why, sizeof(why));
    if (refused < 0) {
        b2b_pricing_note_error("%s", why);
        return -1;
    }
    if (refused > 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, b2b_worker_server(ctx),
                     B2BLOG(03010) "pricing: %d row(s) left out of the snapshot, "
                     "first: %s; fix them, they are not priced", refused, why);
    }
    return 0;
}

static int query_scalar(pricing_db_t *db, apr_pool_t *p, const char *sql,
                        const char **out)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    *out = NULL;
    if (apr_dbd_select(db->driver, p, db->handle, &res, sql, 0)) {
        return -1;
    }
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(db->driver, row, 0);
        if (!*out && v) {
            *out = apr_pstrdup(p, v);
        }
    }
    return *out ? 0 : -1;
}

static int db_exec(pricing_db_t *db, const char *sql)
{
    int n = 0;
    return apr_dbd_query(db->driver, db->handle, &n, sql);
}

static void db_close(pricing_db_t *db)
{
    if (db->handle) {
        apr_dbd_close(db->driver, db->handle);
        db->handle = NULL;
    }
    if (db->pool) {
        apr_pool_destroy(db->pool);
        db->pool = NULL;
    }
}

static int db_open(b2b_worker_ctx_t *ctx, pricing_db_t *db)
{
    apr_pool_create(&db->pool, b2b_worker_pool(ctx));
    if (b2b_worker_db_open(ctx, db->pool, &db->driver, &db->handle) != APR_SUCCESS) {
        db->handle = NULL;
        db_close(db);
        return -1;
    }
    if (apr_dbd_prepare(db->driver, db->pool, db->handle, B2B_SQL_RULES_ACCOUNT,
                        "b2b_pw_rules_account", &db->rules_account)
        || apr_dbd_prepare(db->driver, db->pool, db->handle, B2B_SQL_RULES_GROUP,
                           "b2b_pw_rules_group", &db->rules_group)
        || apr_dbd_prepare(db->driver, db->pool, db->handle, B2B_SQL_RULES_SKU,
                           "b2b_pw_rules_sku", &db->rules_sku)
        || apr_dbd_prepare(db->driver, db->pool, db->handle, B2B_SQL_CHANGES,
                           "b2b_pw_changes", &db->changes)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, b2b_worker_server(ctx),
                     B2BLOG(03011) "pricing: cannot prepare the loader's "
                     "statements (%s): is the schema migrated?",
                     apr_dbd_error(db->driver, db->handle, 0));
        db_close(db);
        return -1;
    }
    return 0;
}

static apr_uint64_t now_us(void)
{
    return (apr_uint64_t)apr_time_now();
}

/* Everything, into the free slot. Runs inside a REPEATABLE READ transaction
 * so the rules and the version belong together. */
static int full_build(b2b_worker_ctx_t *ctx, pricing_db_t *db, apr_pool_t *p,
                      apr_uint64_t version)
{
    server_rec *s = b2b_worker_server(ctx);
    b2b_pricing_shm_t *shm = b2b_pricing_store();
    b2b_input_t *in = b2b_input_new();
    b2b_build_options_t opt = { version };
    b2b_build_stats_t stats;
    apr_uint64_t t0 = now_us(), size = 0;
    unsigned slot;
    void *buf;
    b2b_status_t st;
    int ok = 0;

    if (!in) {
        return -1;
    }
    if (select_into(ctx, db, p, B2B_SQL_CURRENCIES, NULL, 0, NULL, in,
                    B2B_ROW_CURRENCY) < 0
        || select_into(ctx, db, p, B2B_SQL_ACCOUNTS, NULL, 0, NULL, in,
                       B2B_ROW_ACCOUNT) < 0
        || select_into(ctx, db, p, B2B_SQL_PRODUCTS, NULL, 0, NULL, in,
                       B2B_ROW_PRODUCT) < 0
        || select_into(ctx, db, p, B2B_SQL_RULES_ALL, NULL, 0, NULL, in,
                       B2B_ROW_RULE) < 0) {
        goto done;
    }
    st = b2b_snapshot_size(in, &size);
    if (st != B2B_OK) {
        b2b_pricing_note_error("snapshot size: %s", b2b_status_name(st));
        goto done;
    }
    if (size > shm->slot_size) {
        b2b_pricing_note_error("snapshot of %" APR_UINT64_T_FMT " bytes does not "
                               "fit a slot of %" APR_UINT64_T_FMT, size,
                               shm->slot_size);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(03012)
                     "pricing: the snapshot for version %" APR_UINT64_T_FMT
                     " needs %" APR_UINT64_T_FMT " bytes per slot but slots have "
                     "%" APR_UINT64_T_FMT ": raise " B2B_DIR_PRICING_SHM
                     " to at least %" APR_UINT64_T_FMT "; the old prices stay in "
                     "service", version, size, shm->slot_size,
                     size * 2 + 4096 + 65536);
        goto done;
    }
    buf = b2b_pricing_begin_write(&slot);
    st = b2b_snapshot_build(in, &opt, buf, shm->slot_size, &stats);
    if (st != B2B_OK) {
        b2b_pricing_note_error("full build: %s", b2b_status_name(st));
        goto done;
    }
    b2b_pricing_publish(slot, version, &stats, now_us() - t0, 0);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(03013)
                 "pricing: generation %" APR_UINT64_T_FMT " built in %"
                 APR_UINT64_T_FMT " ms (%" APR_UINT64_T_FMT " rules, %"
                 APR_UINT64_T_FMT " bytes)", version, (now_us() - t0) / 1000,
                 stats.rules, stats.size);
    ok = 1;
done:
    b2b_input_free(in);
    return ok ? 0 : -1;
}

/* One scope's rules spliced into a copy of the active snapshot; -1 means
 * "do a full build instead" (not an error worth more than a debug line). */
static int scope_build(b2b_worker_ctx_t *ctx, pricing_db_t *db, apr_pool_t *p,
                       apr_uint64_t version, const char *kind, const char *id)
{
    b2b_pricing_shm_t *shm = b2b_pricing_store();
    b2b_input_t *in;
    b2b_scope_t scope;
    b2b_build_options_t opt = { version };
    b2b_build_stats_t stats;
    apr_dbd_prepared_t *st;
    const char *args[2] = { id, id };
    int nargs = 1, ok = 0;
    unsigned old_slot, slot;
    const void *old;
    apr_uint64_t t0 = now_us(), t1;
    void *buf;
    b2b_status_t rs;

    scope.id = apr_atoi64(id);
    if (!strcmp(kind, "account")) {
        scope.kind = B2B_SCOPE_ACCOUNT_OWN;
        st = db->rules_account;
    }
    else if (!strcmp(kind, "product_group")) {
        scope.kind = B2B_SCOPE_PRODUCT_GROUP;
        st = db->rules_group;
        nargs = 2;
    }
    else if (!strcmp(kind, "sku")) {
        scope.kind = B2B_SCOPE_SKU;
        st = db->rules_sku;
    }
    else {
        return -1;
    }
    if (!(in = b2b_input_new())) {
        return -1;
    }
    if (select_into(ctx, db, p, NULL, st, nargs, args, in, B2B_ROW_RULE) != 0) {
        b2b_input_free(in);
        return -1;
    }
    t1 = now_us();
    /* the worker is the only writer, so the active slot cannot change here */
    old = b2b_pricing_acquire(&old_slot);
    if (!old) {
        b2b_input_free(in);
        return -1;
    }
    buf = b2b_pricing_begin_write(&slot);
    rs = b2b_snapshot_rebuild(old, &scope, in, &opt, buf, shm->slot_size, &stats);
    b2b_pricing_release(old_slot);
    if (rs == B2B_OK) {
        b2b_pricing_publish(slot, version, &stats, now_us() - t0, 1);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, b2b_worker_server(ctx),
                     B2BLOG(03014) "pricing: generation %" APR_UINT64_T_FMT
                     " rebuilt for %s %s in %" APR_UINT64_T_FMT " us (%" APR_UINT64_T_FMT
                     " us of it reading the scope's rules)", version, kind, id,
                     now_us() - t0, t1 - t0);
        ok = 1;
    }
    b2b_input_free(in);
    return ok ? 0 : -1;
}

/* Brings the snapshot up to the database's version. 0 if in step. */
static int sync_snapshot(b2b_worker_ctx_t *ctx, pricing_db_t *db, int force_full)
{
    b2b_pricing_shm_t *shm = b2b_pricing_store();
    apr_pool_t *p;
    const char *vtext;
    apr_uint64_t version, have = shm->active < B2B_SLOT_NONE ? shm->generation : 0;
    int rc = -1;

    apr_pool_create(&p, db->pool);
    if (db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) {
        apr_pool_destroy(p);
        return -1;
    }
    if (query_scalar(db, p, B2B_SQL_VERSION, &vtext) != 0) {
        goto out;
    }
    version = (apr_uint64_t)apr_atoi64(vtext);
    shm->last_check_us = now_us();
    shm->db_version = version;
    if (version == have && !force_full) {
        rc = 0;
        goto out;
    }
    if (have && !force_full && version > have) {
        /* narrow path: the change log covers (have, version] with one scope */
        apr_dbd_results_t *res = NULL;
        apr_dbd_row_t *row = NULL;
        const char *arg = apr_psprintf(p, "%" APR_UINT64_T_FMT, have);
        const char *kind = NULL, *id = NULL;
        apr_uint64_t expect = have + 1;
        int narrow = 1;
        if (apr_dbd_pselect(db->driver, p, db->handle, &res, db->changes, 0, 1,
                            &arg) == 0) {
            while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
                const char *v = apr_dbd_get_entry(db->driver, row, 0);
                const char *k = apr_dbd_get_entry(db->driver, row, 1);
                const char *i = apr_dbd_get_entry(db->driver, row, 2);
                if (!v || (apr_uint64_t)apr_atoi64(v) != expect++ || !k || !i
                    || !strcmp(k, "all")
                    || (kind && (strcmp(kind, k) || strcmp(id, i)))) {
                    narrow = 0;
                }
                else if (!kind) {
                    kind = apr_pstrdup(p, k);
                    id = apr_pstrdup(p, i);
                }
            }
            if (narrow && kind && expect == version + 1
                && scope_build(ctx, db, p, version, kind, id) == 0) {
                rc = 0;
                goto out;
            }
        }
    }
    rc = full_build(ctx, db, p, version);
out:
    db_exec(db, "COMMIT");
    apr_pool_destroy(p);
    return rc;
}

/* ---- Redis: a wake-up call, never the source of truth --------------------- */

static redisContext *redis_subscribe(b2b_worker_ctx_t *ctx, const char *addr)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    struct timeval tv = { 1, 0 };
    redisContext *c;
    redisReply *reply;
    apr_size_t n;

    if (!colon || (n = (apr_size_t)(colon - addr)) >= sizeof(host)) {
        return NULL;
    }
    memcpy(host, addr, n);
    host[n] = '\0';
    c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    if (!c || c->err) {
        if (c) {
            redisFree(c);
        }
        return NULL;
    }
    redisEnableKeepAlive(c);
    redisSetTimeout(c, tv);
    reply = redisCommand(c, "SUBSCRIBE %s", B2B_PRICING_CHANNEL);
    if (!reply) {
        redisFree(c);
        return NULL;
    }
    freeReplyObject(reply);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, b2b_worker_server(ctx), B2BLOG(03015)
                 "pricing: subscribed to Redis %s", addr);
    return c;
}

/* Waits up to msec for a message. 1: a message, 0: none, -1: Redis is gone
 * (the context is freed here, exactly once). */
static int redis_wait(redisContext **cp, int msec)
{
    redisContext *c = *cp;
    void *reply = NULL;
    struct pollfd pfd;
    int got = 0;

    if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
        goto gone;
    }
    if (!reply) {
        pfd.fd = c->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, msec) <= 0) {
            return 0;
        }
        if (redisBufferRead(c) != REDIS_OK
            || redisGetReplyFromReader(c, &reply) != REDIS_OK) {
            goto gone;
        }
    }
    while (reply) {
        got = 1;
        freeReplyObject(reply);
        reply = NULL;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
            goto gone;
        }
    }
    return got;
gone:
    if (reply) {
        freeReplyObject(reply);
    }
    redisFree(c);
    *cp = NULL;
    return -1;
}

void b2b_pricing_worker_task(b2b_worker_ctx_t *ctx, void *baton)
{
    server_rec *s = b2b_worker_server(ctx);
    b2b_pricing_shm_t *shm = b2b_pricing_store();
    const char *redis_addr = b2b_conf_redis(s);
    apr_uint64_t staleness_us = (apr_uint64_t)b2b_pricing_conf_staleness(s) * 1000000;
    apr_uint64_t next_redis_try = 0, last_sync = 0;
    int redis_backoff_ms = 500, need_sync = 1, failures = 0;
    redisContext *redis = NULL;
    pricing_db_t db;
    (void)baton;

    memset(&db, 0, sizeof(db));
    if (!shm) {
        return;
    }
    while (!b2b_worker_stopping(ctx)) {
        apr_uint64_t now = now_us();
        b2b_worker_beat(ctx);

        if (redis_addr && !redis && now >= next_redis_try) {
            redis = redis_subscribe(ctx, redis_addr);
            shm->redis_up = redis != NULL;
            if (redis) {
                redis_backoff_ms = 500;
                need_sync = 1;      /* we may have missed messages meanwhile */
            }
            else {
                next_redis_try = now + (apr_uint64_t)redis_backoff_ms * 1000;
                redis_backoff_ms = redis_backoff_ms * 2 > 10000 ? 10000
                                                                : redis_backoff_ms * 2;
            }
        }
        if (!db.handle && db_open(ctx, &db) != 0) {
            b2b_worker_sleep(ctx, 1000);
            continue;
        }
        if (need_sync || now - last_sync >= staleness_us) {
            if (sync_snapshot(ctx, &db, 0) != 0) {
                if (failures++ % 30 == 0) {
                    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(03016)
                                 "pricing: could not bring prices up to date "
                                 "(%s); the current snapshot stays in service "
                                 "and the worker retries", shm->last_error);
                }
                /* a broken connection is reopened on the next round */
                if (apr_dbd_check_conn(db.driver, db.pool, db.handle) != APR_SUCCESS) {
                    db_close(&db);
                }
                b2b_worker_sleep(ctx, 500);
                continue;
            }
            failures = 0;
            need_sync = 0;
            last_sync = now_us();
        }
        if (redis) {
            int got = redis_wait(&redis, 200);
            if (got < 0) {
                shm->redis_up = 0;
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(03017)
                             "pricing: lost Redis; prices follow the database "
                             "every %d s until it is back",
                             b2b_pricing_conf_staleness(s));
            }
            else if (got > 0) {
                need_sync = 1;
            }
        }
        else {
            b2b_worker_sleep(ctx, 200);
        }
    }
    if (redis) {
        redisFree(redis);
    }
    db_close(&db);
}
