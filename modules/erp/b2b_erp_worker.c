/*
 * b2b_erp_worker.c: the worker tasks that talk to the ERP.
 *
 * erp-queue drains the outbox. A scout (the task's own thread) looks at the
 * queue a few times a second and wakes B2BErpThreads delivery threads when
 * something is due; each delivery thread has its own database connection
 * and its own adapter instance (one kept-alive ERP connection) and loops:
 *
 *   claim    one due row: FOR UPDATE SKIP LOCKED, state in_flight, a lease
 *            (lease_until, leased_by = node/pid/thread), attempts + 1 and
 *            lease_seq + 1, all in one committed statement, so several
 *            threads and several httpd nodes never hold the same row;
 *   deliver  through the adapter, with the row's fixed idempotency key, and
 *            no transaction open meanwhile;
 *   finish   one statement that only applies while the row still carries
 *            this claim (state in_flight and the same lease_seq): done (the
 *            order goes submitted, then to what the ERP reported, with
 *            history), back to pending with a backoff (full jitter, capped),
 *            or dead (the order goes failed with the last error).
 *
 * Nothing is kept in memory that matters: a worker killed mid-delivery leaves
 * its row in_flight. The next worker of the same node hands such rows back at
 * once (only one worker per node exists, so another pid's lease on this node
 * is an orphan); any node takes over a lease that ran out (a dead node). The
 * order is then delivered again with the same key, and the ERP answers
 * "already have it": its effect happens once.
 *
 * erp-stock pulls stock levels changed since the last pull, every
 * B2BErpStockInterval seconds (a full pull at start and hourly).
 */
#include "b2b_erp_shell.h"
#include "apr_strings.h"
#include "apr_atomic.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"
#include "apr_lib.h"
#include "ap_listen.h"

#include <unistd.h>

APLOG_USE_MODULE(b2bportal);

/* ---- SQL -------------------------------------------------------------------------- */

/* Arguments: lease seconds, leased_by. One row per order line (the order's
 * fields repeated), none when nothing is due. */
#define SQL_CLAIM \
    "WITH c AS (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= now() " \
    "  ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED), " \
    "u AS (UPDATE outbox b SET state = 'in_flight', attempts = b.attempts + 1, " \
    "  lease_seq = b.lease_seq + 1, lease_until = now() + make_interval(secs => %s::int), " \
    "  leased_by = %s FROM c WHERE b.id = c.id " \
    "  RETURNING b.id, b.order_id, b.erp_key, b.attempts, b.lease_seq) " \
    "SELECT u.id::text, u.attempts::text, u.lease_seq::text, u.erp_key, o.id::text, a.code, " \
    "o.po_number, o.currency, cur.minor_digits::text, coalesce(o.promo_code, ''), " \
    "coalesce(o.note, ''), extract(epoch FROM o.created_at)::bigint::text, " \
    "o.net_minor::text, o.tax_minor::text, o.gross_minor::text, l.sku, l.qty::text, " \
    "l.unit_price_minor::text, l.net_minor::text, l.tax_minor::text, l.gross_minor::text " \
    "FROM u JOIN orders o ON o.id = u.order_id JOIN accounts a ON a.id = o.account_id " \
    "JOIN currencies cur ON cur.code = o.currency " \
    "LEFT JOIN order_lines l ON l.order_id = o.id ORDER BY l.line_no"

#define ATTEMPT_LOG(ob) \
    "att AS (INSERT INTO erp_attempts (outbox_id, order_id, attempt, node, outcome, " \
    "  http_status, erp_ref, error, duration_ms) " \
    "  SELECT " ob ".id, " ob ".order_id, p.attempt, p.node, p.outcome, nullif(p.http, 0), " \
    "  nullif(p.erp_ref, ''), nullif(p.err, ''), p.ms FROM " ob ", p) "

#define FINISH_PARAMS \
    "WITH p AS (SELECT %s::bigint AS id, %s::bigint AS seq, %s::text AS node, " \
    "  %s::int AS attempt, %s::text AS outcome, %s::int AS http, %s::text AS erp_ref, " \
    "  %s::text AS erp_status, %s::text AS err, %s::int AS ms, %s::bigint AS delay_ms), "

/* Every finish takes the same arguments (see finish()). Accepted: the order
 * moves from queued (or failed) to submitted and on to what the ERP said, in
 * one statement with its history; an order the ERP already reported through
 * /erp/orders/{id}/status keeps its status. */
#define SQL_FINISH_OK FINISH_PARAMS \
    "ob AS (UPDATE outbox b SET state = 'done', lease_until = NULL, last_error = NULL, " \
    "  delivered_at = now(), delivered_by = p.node, erp_status = nullif(p.erp_status, ''), " \
    "  last_http_status = nullif(p.http, 0) FROM p " \
    "  WHERE b.id = p.id AND b.lease_seq = p.seq AND b.state = 'in_flight' " \
    "  RETURNING b.id, b.order_id), " \
    "cur AS (SELECT o.id, o.status FROM orders o JOIN ob ON o.id = ob.order_id FOR UPDATE OF o), " \
    "acc AS (UPDATE orders o SET status = CASE WHEN p.erp_status IN ('confirmed', " \
    "  'backordered', 'shipped', 'invoiced') THEN p.erp_status ELSE 'submitted' END, " \
    "  erp_ref = p.erp_ref FROM cur, p " \
    "  WHERE o.id = cur.id AND cur.status IN ('queued', 'failed') RETURNING o.id, o.status), " \
    "ref AS (UPDATE orders o SET erp_ref = p.erp_ref FROM cur, p WHERE o.id = cur.id " \
    "  AND cur.status NOT IN ('queued', 'failed') AND o.erp_ref IS NULL), " \
    "hist AS (INSERT INTO order_history (order_id, status, note) " \
    "  SELECT acc.id, s.status, s.note FROM acc CROSS JOIN p CROSS JOIN LATERAL (VALUES " \
    "    (1, 'submitted', 'delivered to the ERP as ' || p.erp_ref), " \
    "    (2, acc.status, 'reported by the ERP on delivery')) AS s (n, status, note) " \
    "  WHERE s.n = 1 OR acc.status <> 'submitted' ORDER BY acc.id, s.n), " \
    B2B_ERP_SQL_RELEASE("acc") ", " \
    ATTEMPT_LOG("ob") \
    "SELECT (SELECT count(*) FROM ob)::text"

/* Not this time: back to pending after the delay. */
#define SQL_FINISH_RETRY FINISH_PARAMS \
    "ob AS (UPDATE outbox b SET state = 'pending', lease_until = NULL, " \
    "  next_attempt_at = now() + make_interval(secs => p.delay_ms / 1000.0), " \
    "  last_error = p.err, last_http_status = nullif(p.http, 0) FROM p " \
    "  WHERE b.id = p.id AND b.lease_seq = p.seq AND b.state = 'in_flight' " \
    "  RETURNING b.id, b.order_id), " \
    ATTEMPT_LOG("ob") \
    "SELECT (SELECT count(*) FROM ob)::text"

/* The dead letter: the row waits for an admin, the order is failed. */
#define SQL_FINISH_DEAD FINISH_PARAMS \
    "ob AS (UPDATE outbox b SET state = 'dead', lease_until = NULL, last_error = p.err, " \
    "  last_http_status = nullif(p.http, 0) FROM p " \
    "  WHERE b.id = p.id AND b.lease_seq = p.seq AND b.state = 'in_flight' " \
    "  RETURNING b.id, b.order_id, b.attempts), " \
    "cur AS (SELECT o.id FROM orders o JOIN ob ON o.id = ob.order_id " \
    "  WHERE o.status = 'queued' FOR UPDATE OF o), " \
    "f AS (UPDATE orders o SET status = 'failed' FROM cur WHERE o.id = cur.id RETURNING o.id), " \
    "h AS (INSERT INTO order_history (order_id, status, note) " \
    "  SELECT f.id, 'failed', left('not delivered to the ERP after ' || ob.attempts || " \
    "  ' attempt(s): ' || p.err, 1000) FROM f, ob, p), " \
    ATTEMPT_LOG("ob") \
    "SELECT (SELECT count(*) FROM ob)::text"

/* The scout: milliseconds until the first pending row is due ('' if none). */
#define SQL_NEXT_DUE \
    "SELECT coalesce(floor(extract(epoch FROM min(next_attempt_at) - now()) * 1000)" \
    "::bigint::text, '') FROM outbox WHERE state = 'pending'"

/* Leases that ran out (a node died, or hung, mid-delivery), and leases of
 * this node held by another pid (this node's previous worker, which is dead:
 * the module never runs two). Arguments: node, pid. */
#define SQL_RECOVER \
    "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = now(), " \
    "last_error = CASE WHEN lease_until < now() THEN 'lease of ' || leased_by || " \
    "  ' ran out mid-delivery' ELSE 'worker ' || leased_by || ' ended mid-delivery' END " \
    "WHERE state = 'in_flight' AND (lease_until < now() OR " \
    "  (split_part(leased_by, '/', 1) = %s AND split_part(leased_by, '/', 2) <> %s)) " \
    "RETURNING id::text"

#define SQL_PRUNE "DELETE FROM erp_attempts WHERE at < now() - interval '30 days'"

#define SQL_STOCK_CURSOR \
    "SELECT coalesce(" B2B_ERP_TS("stock_since") ", ''), (stock_since IS NULL " \
    "OR last_full_at IS NULL OR last_full_at < now() - interval '1 hour' " \
    "OR NOT EXISTS (SELECT 1 FROM erp_stock))::text FROM erp_sync WHERE id = 1"
/* The cursor never passes our own clock: an ERP level dated in the future
 * would otherwise hide every change until that date. */
#define SQL_STOCK_OK \
    "UPDATE erp_sync SET stock_since = GREATEST(stock_since, " \
    "  LEAST(nullif(%s, '')::timestamptz, now())), " \
    "last_pull_at = now(), last_pull_ok_at = now(), last_pull_items = %s::int, " \
    "last_error = NULL, last_full_at = CASE WHEN %s = '1' THEN now() ELSE last_full_at END " \
    "WHERE id = 1"
#define SQL_STOCK_FAILED \
    "UPDATE erp_sync SET last_pull_at = now(), last_error = %s WHERE id = 1"

/* ---- a worker's own database connection ------------------------------------------ */

#define ERP_DB_MAX_STMTS 6

typedef struct erp_db_t {
    b2b_worker_ctx_t *ctx;
    apr_pool_t *parent;              /* owned by one thread */
    apr_pool_t *pool;                /* the connection's; destroyed on close */
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    int nstmts;
    const char *sql[ERP_DB_MAX_STMTS];
    apr_dbd_prepared_t *stmt[ERP_DB_MAX_STMTS];
    int retry_ms;                    /* grows while the database is away */
} erp_db_t;

static void db_close(erp_db_t *db)
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

/* 0 when connected with every statement prepared. */
static int db_ready(erp_db_t *db)
{
    int i;
    if (db->handle) {
        return 0;
    }
    apr_pool_create(&db->pool, db->parent);
    if (b2b_worker_db_open(db->ctx, db->pool, &db->driver, &db->handle) != APR_SUCCESS) {
        db->handle = NULL;
        db_close(db);
        return -1;
    }
    /* The worker's own bookkeeping (claims, results, history) may be lost by
     * a PostgreSQL crash without harm: the order is then sent again with the
     * same key, the ERP answers "already have it", and the same state is
     * written again. So its commits do not wait for the WAL flush, which on
     * a durable database costs more than the ERP call. Checkout's commit of
     * the order and its outbox row stays synchronous. */
    if (apr_dbd_query(db->driver, db->handle, &i, "SET synchronous_commit = off")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, b2b_worker_server(db->ctx),
                     B2BLOG(06009) "erp: could not relax synchronous_commit (%s); "
                     "deliveries wait for each WAL flush",
                     apr_dbd_error(db->driver, db->handle, 0));
    }
    for (i = 0; i < db->nstmts; i++) {
        db->stmt[i] = NULL;
        if (apr_dbd_prepare(db->driver, db->pool, db->handle, db->sql[i],
                            apr_psprintf(db->pool, "b2b_erp_w%d", i), &db->stmt[i])) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, b2b_worker_server(db->ctx),
                         B2BLOG(06001) "erp: cannot prepare a queue statement (%s): "
                         "is the schema migrated (sql/040_erp.sql)?",
                         apr_dbd_error(db->driver, db->handle, 0));
            db_close(db);
            return -1;
        }
    }
    db->retry_ms = 0;
    return 0;
}

/* Waits before the next connection attempt: 0.2 s doubling to 5 s. */
static void db_backoff(erp_db_t *db)
{
    db->retry_ms = db->retry_ms ? db->retry_ms * 2 : 200;
    if (db->retry_ms > 5000) {
        db->retry_ms = 5000;
    }
    b2b_worker_sleep(db->ctx, db->retry_ms);
}

/* Runs statement idx and reads every row (columns copied into p).
 * 0 on success; -1 on an error, after which the connection is closed. */
static int db_rows(erp_db_t *db, apr_pool_t *p, int idx, int nargs, const char **args,
                   apr_array_header_t **out)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *rows;
    int rv, cols = -1, i;

    /* buffered (random=1): streamed, the pgsql driver sleeps 100 ms on an
     * empty result and reports a failed statement as no rows */
    rv = apr_dbd_pselect(db->driver, p, db->handle, &res, db->stmt[idx], 1,
                         nargs, args);
    if (rv) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, b2b_worker_server(db->ctx),
                     B2BLOG(06002) "erp: a queue statement failed (%s); reconnecting",
                     apr_dbd_error(db->driver, db->handle, rv));
        db_close(db);
        return -1;
    }
    rows = apr_array_make(p, 4, sizeof(const char **));
    while (apr_dbd_get_row(db->driver, p, res, &row, -1) == 0) {
        const char **vals;
        if (cols < 0) {
            cols = apr_dbd_num_cols(db->driver, res);
        }
        vals = apr_palloc(p, sizeof(char *) * (cols > 0 ? cols : 1));
        for (i = 0; i < cols; i++) {
            const char *v = apr_dbd_get_entry(db->driver, row, i);
            vals[i] = v ? apr_pstrdup(p, v) : NULL;
        }
        APR_ARRAY_PUSH(rows, const char **) = vals;
    }
    *out = rows;
    return 0;
}

/* The first column of the first row, "" if none; NULL on error. */
static const char *db_value(erp_db_t *db, apr_pool_t *p, int idx, int nargs,
                            const char **args)
{
    apr_array_header_t *rows;
    if (db_rows(db, p, idx, nargs, args, &rows) != 0) {
        return NULL;
    }
    if (rows->nelts == 0 || !APR_ARRAY_IDX(rows, 0, const char **)[0]) {
        return "";
    }
    return APR_ARRAY_IDX(rows, 0, const char **)[0];
}

/* ---- the drain ----------------------------------------------------------------------- */

typedef struct drain_t drain_t;

typedef struct deliverer_t {
    drain_t *drain;
    int index;
    apr_pool_t *pool;
    apr_thread_t *thread;
    erp_db_t db;
    b2b_erp_instance_t *erp;
    apr_uint64_t rng;
    const char *leased_by;
} deliverer_t;

struct drain_t {
    b2b_worker_ctx_t *ctx;
    server_rec *s;
    b2b_erp_settings_t cfg;
    const b2b_erp_adapter_t *adapter;
    const char *node;                  /* host:port of this httpd instance */
    const char *pid;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    volatile apr_uint32_t wake;        /* bumped whenever work may be due */
    volatile apr_uint32_t failures;    /* retryable failures since the last success */
};

enum { ST_CLAIM, ST_OK, ST_RETRY, ST_DEAD };

/* A flaky ERP fails now and then; this many failures in a row say it is away
 * (logged once, and once more when it answers again). */
#define ERP_FAILING_AFTER 10

static apr_uint32_t next_random(apr_uint64_t *state)
{
    /* xorshift64*: jitter only, nothing secret */
    apr_uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (apr_uint32_t)((x * APR_UINT64_C(2685821657736338717)) >> 32);
}

static void wake_all(drain_t *d)
{
    apr_thread_mutex_lock(d->mutex);
    apr_atomic_inc32(&d->wake);
    apr_thread_cond_broadcast(d->cond);
    apr_thread_mutex_unlock(d->mutex);
}

/* Sleeps until the scout says work is due (or 1 s), unless it already said
 * so since `seen` was read. */
static void wait_for_work(drain_t *d, apr_uint32_t seen)
{
    apr_thread_mutex_lock(d->mutex);
    if (apr_atomic_read32(&d->wake) == seen && !b2b_worker_stopping(d->ctx)) {
        apr_thread_cond_timedwait(d->cond, d->mutex, apr_time_from_msec(1000));
    }
    apr_thread_mutex_unlock(d->mutex);
}

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* Errors that say "the ERP is misconfigured or away", not "this order is
 * wrong": retried like an outage rather than sending every order to the
 * dead letter. */
static int looks_like_configuration(const b2b_erp_result_t *res)
{
    int h = res->http_status;
    return h == 401 || h == 403 || h == 404 || h == 405 || h == 407
           || (h >= 300 && h < 400);
}

typedef struct claimed_t {
    const char *outbox_id, *attempts_text, *lease_seq, *order_id;
    int attempts;
    b2b_erp_order_t order;
} claimed_t;

static apr_int64_t num(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

static void order_from_rows(apr_pool_t *p, apr_array_header_t *rows, claimed_t *c)
{
    const char **r = APR_ARRAY_IDX(rows, 0, const char **);
    b2b_erp_line_t *lines = apr_pcalloc(p, sizeof(*lines) * (apr_size_t)rows->nelts);
    size_t n = 0;
    int i;

    c->outbox_id = r[0];
    c->attempts_text = r[1];
    c->attempts = (int)num(r[1]);
    c->lease_seq = r[2];
    c->order_id = r[4];
    memset(&c->order, 0, sizeof(c->order));
    c->order.idempotency_key = r[3];
    c->order.order_id = r[4];
    c->order.account = r[5];
    c->order.po_number = r[6];
    c->order.currency = r[7];
    c->order.minor_digits = (int)num(r[8]);
    c->order.promo_code = r[9];
    c->order.note = r[10];
    c->order.placed_at = num(r[11]);
    c->order.net_minor = num(r[12]);
    c->order.tax_minor = num(r[13]);
    c->order.gross_minor = num(r[14]);
    for (i = 0; i < rows->nelts; i++) {
        r = APR_ARRAY_IDX(rows, i, const char **);
        if (!r[15]) {
            continue;    /* an order without lines: the adapter refuses it */
        }
        lines[n].sku = r[15];
        lines[n].qty = num(r[16]);
        lines[n].unit_price_minor = num(r[17]);
        lines[n].net_minor = num(r[18]);
        lines[n].tax_minor = num(r[19]);
        lines[n].gross_minor = num(r[20]);
        n++;
    }
    c->order.lines = lines;
    c->order.line_count = n;
}

/* Records the outcome; retried on a lost connection (the delivery happened:
 * losing the record would only cost a second, idempotent delivery after the
 * lease, but there is no reason to). Returns rows finished (0: the claim was
 * no longer ours) or -1. */
static int finish(deliverer_t *w, apr_pool_t *p, int stmt, const char **args)
{
    int tries;
    for (tries = 0; tries < 5 && !b2b_worker_stopping(w->drain->ctx); tries++) {
        const char *v;
        if (db_ready(&w->db) != 0) {
            db_backoff(&w->db);
            continue;
        }
        v = db_value(&w->db, p, stmt, 11, args);
        if (v) {
            return (int)num(v);
        }
        db_backoff(&w->db);
    }
    return -1;
}

/* One due order, if any: 1 handled, 0 nothing due, -1 database trouble. */
static int deliver_one(deliverer_t *w, apr_pool_t *p)
{
    drain_t *d = w->drain;
    const b2b_erp_settings_t *cfg = &d->cfg;
    apr_array_header_t *rows;
    const char *cargs[2], *fargs[11];
    claimed_t c;
    b2b_erp_result_t res;
    apr_time_t t0;
    int stmt, done;
    apr_int64_t delay = 0;
    const char *outcome;

    cargs[0] = apr_itoa(p, cfg->lease_s);
    cargs[1] = w->leased_by;
    if (db_rows(&w->db, p, ST_CLAIM, 2, cargs, &rows) != 0) {
        return -1;
    }
    if (rows->nelts == 0) {
        return 0;
    }
    order_from_rows(p, rows, &c);

    t0 = apr_time_now();
    b2b_erp_submit_order(w->erp, &c.order, &res);

    if (res.outcome == B2B_ERP_OK) {
        stmt = ST_OK;
        outcome = res.duplicate ? "duplicate" : "delivered";
        if (apr_atomic_xchg32(&d->failures, 0) >= ERP_FAILING_AFTER) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, d->s, B2BLOG(06003)
                         "erp: the ERP takes orders again (order %s as %s)",
                         c.order_id, res.erp_ref);
        }
    }
    else if (res.outcome == B2B_ERP_PERMANENT && !looks_like_configuration(&res)) {
        stmt = ST_DEAD;
        outcome = "permanent";
    }
    else {
        outcome = res.outcome == B2B_ERP_PERMANENT ? "permanent" : "retryable";
        if (c.attempts >= cfg->retry_max) {
            stmt = ST_DEAD;
        }
        else {
            apr_int64_t after = res.retry_after_ms;
            stmt = ST_RETRY;
            delay = b2b_erp_backoff_ms((unsigned)c.attempts, (uint32_t)cfg->retry_base_ms,
                                       (uint32_t)cfg->retry_cap_ms, next_random(&w->rng));
            if (after > cfg->retry_cap_ms) {
                after = cfg->retry_cap_ms;
            }
            if (after > delay) {
                delay = after;
            }
        }
        if (stmt == ST_RETRY
            && apr_atomic_inc32(&d->failures) + 1 == ERP_FAILING_AFTER) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, B2BLOG(06004)
                         "erp: %d deliveries in a row failed, the last one of order %s "
                         "(%s); orders wait in the queue and are retried with backoff",
                         ERP_FAILING_AFTER, c.order_id, res.error);
        }
    }
    if (stmt == ST_DEAD) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, d->s, B2BLOG(06005)
                     "erp: order %s goes to the dead letter after %d attempt(s): %s; "
                     "POST /admin/queue/%s/retry sends it again", c.order_id, c.attempts,
                     res.error, c.outbox_id);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, d->s, B2BLOG(06006)
                     "erp: order %s attempt %d: %s %s", c.order_id, c.attempts, outcome,
                     res.outcome == B2B_ERP_OK ? res.erp_ref : res.error);
    }

    fargs[0] = c.outbox_id;
    fargs[1] = c.lease_seq;
    fargs[2] = d->node;
    fargs[3] = c.attempts_text;
    fargs[4] = outcome;
    fargs[5] = apr_itoa(p, res.http_status);
    fargs[6] = res.outcome == B2B_ERP_OK ? apr_pstrdup(p, res.erp_ref) : "";
    fargs[7] = res.outcome == B2B_ERP_OK ? apr_pstrdup(p, res.erp_status) : "";
    fargs[8] = res.outcome == B2B_ERP_OK ? "" : apr_pstrdup(p, res.error);
    fargs[9] = i64(p, (apr_time_now() - t0) / 1000);
    fargs[10] = i64(p, delay);
    done = finish(w, p, stmt, fargs);
    if (done == 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, d->s, B2BLOG(06007)
                     "erp: order %s: the lease ran out during the delivery and the "
                     "row was taken over; this result (%s) is not recorded",
                     c.order_id, outcome);
    }
    return done < 0 ? -1 : 1;
}

static void *APR_THREAD_FUNC deliverer_main(apr_thread_t *thd, void *data)
{
    deliverer_t *w = data;
    drain_t *d = w->drain;
    apr_pool_t *iter;
    char err[256];

    apr_pool_create(&iter, w->pool);
    while (!b2b_worker_stopping(d->ctx)) {
        apr_uint32_t seen = apr_atomic_read32(&d->wake);
        int rc;
        if (!w->erp) {
            b2b_erp_config_t ec;
            memset(&ec, 0, sizeof(ec));
            ec.url = d->cfg.url;
            ec.timeout_ms = d->cfg.timeout_ms;
            ec.connect_timeout_ms = d->cfg.timeout_ms < 2000 ? d->cfg.timeout_ms : 2000;
            if (b2b_erp_instance_create(d->adapter, &ec, &w->erp, err, sizeof(err))) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, d->s, B2BLOG(06008)
                             "erp: cannot start the %s adapter: %s", d->adapter->name, err);
                w->erp = NULL;
                b2b_worker_sleep(d->ctx, 5000);
                continue;
            }
        }
        if (db_ready(&w->db) != 0) {
            db_backoff(&w->db);
            continue;
        }
        apr_pool_clear(iter);
        rc = deliver_one(w, iter);
        if (rc < 0) {
            db_backoff(&w->db);
        }
        else if (rc == 0) {
            wait_for_work(d, seen);
        }
    }
    db_close(&w->db);
    b2b_erp_instance_destroy(w->erp);
    w->erp = NULL;
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* host:port of this httpd instance: the leases it holds carry it. */
static const char *node_name(apr_pool_t *p, server_rec *s)
{
    char host[256];
    int port = 0;
    ap_listen_rec *lr;
    char *c;

    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    for (c = host; *c; c++) {
        if (*c == '/' || *c == ':' || apr_iscntrl(*c)) {
            *c = '-';
        }
    }
    /* the worker closed the listening sockets, but the list is still there */
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr && lr->bind_addr->port) {
            port = lr->bind_addr->port;
            break;
        }
    }
    return apr_psprintf(p, "%s:%d", host, port ? port : (int)s->port);
}

static void idle_until_stopped(b2b_worker_ctx_t *ctx)
{
    while (!b2b_worker_stopping(ctx)) {
        b2b_worker_beat(ctx);
        b2b_worker_sleep(ctx, 1000);
    }
}

void b2b_erp_queue_task(b2b_worker_ctx_t *ctx, void *baton)
{
    server_rec *s = b2b_worker_server(ctx);
    apr_pool_t *pool = b2b_worker_pool(ctx), *iter;
    drain_t *d = apr_pcalloc(pool, sizeof(*d));
    deliverer_t *workers;
    erp_db_t scout;
    apr_time_t next_recover = 0, next_prune = 0;
    int i, started = 0;
    (void)baton;

    d->ctx = ctx;
    d->s = s;
    b2b_erp_settings(s, &d->cfg);
    if (!d->cfg.url) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(06010)
                     "erp: " B2B_DIR_ERP_URL " is not set: orders stay queued and no "
                     "stock is pulled");
        idle_until_stopped(ctx);
        return;
    }
    if (!d->cfg.drain) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(06015)
                     "erp: " B2B_DIR_ERP_DRAIN " is off: other nodes deliver the orders");
        idle_until_stopped(ctx);
        return;
    }
    d->adapter = b2b_erp_adapter_find(d->cfg.adapter);
    if (!d->adapter) {      /* the directive checks the name; belt and braces */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(06011)
                     "erp: no ERP adapter named %s", d->cfg.adapter);
        idle_until_stopped(ctx);
        return;
    }
    d->node = node_name(pool, s);
    d->pid = apr_itoa(pool, (int)getpid());
    apr_thread_mutex_create(&d->mutex, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&d->cond, pool);

    memset(&scout, 0, sizeof(scout));
    scout.ctx = ctx;
    scout.parent = pool;
    scout.nstmts = 3;
    scout.sql[0] = SQL_NEXT_DUE;
    scout.sql[1] = SQL_RECOVER;
    scout.sql[2] = SQL_PRUNE;

    /* Pools are made here, before any thread runs: APR pools are not for
     * sharing between threads. */
    workers = apr_pcalloc(pool, sizeof(*workers) * (apr_size_t)d->cfg.threads);
    for (i = 0; i < d->cfg.threads; i++) {
        deliverer_t *w = &workers[i];
        w->drain = d;
        w->index = i;
        apr_pool_create(&w->pool, pool);
        w->db.ctx = ctx;
        w->db.parent = w->pool;
        w->db.nstmts = 4;
        w->db.sql[ST_CLAIM] = SQL_CLAIM;
        w->db.sql[ST_OK] = SQL_FINISH_OK;
        w->db.sql[ST_RETRY] = SQL_FINISH_RETRY;
        w->db.sql[ST_DEAD] = SQL_FINISH_DEAD;
        w->rng = (apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)getpid() << 32)
                 ^ (APR_UINT64_C(0x9E3779B97F4A7C15) * (apr_uint64_t)(i + 1));
        w->leased_by = apr_psprintf(w->pool, "%s/%s/%d", d->node, d->pid, i);
    }
    apr_pool_create(&iter, pool);

    /* Hand back what this node's previous worker left in flight before any
     * thread claims: it is dead, its deliveries never finished. */
    while (!b2b_worker_stopping(ctx) && db_ready(&scout) != 0) {
        b2b_worker_beat(ctx);
        db_backoff(&scout);
    }
    for (i = 0; i < d->cfg.threads && !b2b_worker_stopping(ctx); i++) {
        if (apr_thread_create(&workers[i].thread, NULL, deliverer_main, &workers[i],
                              workers[i].pool) == APR_SUCCESS) {
            started++;
        }
        else {
            workers[i].thread = NULL;
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(06012)
                         "erp: could not start delivery thread %d", i);
        }
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(06013)
                 "erp: draining the order queue to %s (%s adapter) as %s/%s with %d "
                 "thread(s)", d->cfg.url, d->adapter->name, d->node, d->pid, started);

    while (!b2b_worker_stopping(ctx)) {
        apr_time_t now = apr_time_now();
        const char *due, *args[2];
        apr_array_header_t *rows;
        int wait_ms = 250;

        b2b_worker_beat(ctx);
        apr_pool_clear(iter);
        if (db_ready(&scout) != 0) {
            db_backoff(&scout);
            continue;
        }
        if (now >= next_recover) {
            args[0] = d->node;
            args[1] = d->pid;
            if (db_rows(&scout, iter, 1, 2, args, &rows) == 0 && rows->nelts > 0) {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, B2BLOG(06014)
                             "erp: %d order(s) in flight with a worker that is gone "
                             "(or whose lease ran out) are queued again", rows->nelts);
            }
            next_recover = now + apr_time_from_sec(1);
        }
        if (now >= next_prune && scout.handle) {
            db_value(&scout, iter, 2, 0, NULL);
            next_prune = now + apr_time_from_sec(3600);
        }
        if (!scout.handle) {
            continue;
        }
        due = db_value(&scout, iter, 0, 0, NULL);
        if (due && *due) {
            apr_int64_t ms = apr_atoi64(due);
            if (ms <= 0) {
                wake_all(d);
                wait_ms = 100;
            }
            else if (ms < wait_ms) {
                wait_ms = (int)ms;
            }
        }
        b2b_worker_sleep(ctx, wait_ms);
    }

    wake_all(d);
    for (i = 0; i < d->cfg.threads; i++) {
        apr_status_t trv;
        if (workers[i].thread) {
            apr_thread_join(&trv, workers[i].thread);
        }
    }
    db_close(&scout);
}

/* ---- stock --------------------------------------------------------------------------- */

typedef struct stock_batch_t {
    json_t *items;
    size_t refused;
    char first_refused[160];
} stock_batch_t;

static int collect_stock(void *baton, const b2b_erp_stock_t *item)
{
    stock_batch_t *b = baton;
    char as_of[64];
    if (b2b_erp_iso8601(item->as_of, as_of, sizeof(as_of)) != 0) {
        if (!b->refused++) {
            apr_snprintf(b->first_refused, sizeof(b->first_refused),
                         "%s: as_of '%.64s' is not an ISO 8601 time", item->sku, item->as_of);
        }
        return 0;
    }
    json_array_append_new(b->items, json_pack("{s:s,s:I,s:s}", "sku", item->sku,
                                              "on_hand", (json_int_t)item->on_hand,
                                              "as_of", as_of));
    return 0;
}

enum { SS_CURSOR, SS_APPLY, SS_OK, SS_FAILED };

static void pull_stock(b2b_worker_ctx_t *ctx, erp_db_t *db, b2b_erp_instance_t *erp,
                       apr_pool_t *p)
{
    server_rec *s = b2b_worker_server(ctx);
    apr_array_header_t *rows;
    const char **cur, *args[3];
    stock_batch_t batch;
    b2b_erp_result_t res;
    int full;
    char *text;

    if (db_rows(db, p, SS_CURSOR, 0, NULL, &rows) != 0 || rows->nelts != 1) {
        return;
    }
    cur = APR_ARRAY_IDX(rows, 0, const char **);
    full = !strcmp(cur[1], "true");
    memset(&batch, 0, sizeof(batch));
    batch.items = json_array();
    b2b_erp_fetch_stock(erp, full ? NULL : cur[0], collect_stock, &batch, &res);
    if (res.outcome != B2B_ERP_OK) {
        args[0] = res.error;
        db_value(db, p, SS_FAILED, 1, args);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(06020)
                     "erp: stock pull failed: %s", res.error);
        json_decref(batch.items);
        return;
    }
    if (batch.refused) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(06021)
                     "erp: %" APR_SIZE_T_FMT " stock level(s) from the ERP left out, "
                     "first: %s", batch.refused, batch.first_refused);
    }
    text = json_dumps(batch.items, JSON_COMPACT);
    json_decref(batch.items);
    if (!text) {
        return;
    }
    args[0] = apr_pstrdup(p, text);
    free(text);
    args[1] = "pull";
    if (db_rows(db, p, SS_APPLY, 2, args, &rows) != 0 || rows->nelts != 1) {
        return;
    }
    cur = APR_ARRAY_IDX(rows, 0, const char **);
    if (*cur[4]) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(06022)
                     "erp: the ERP reports stock for SKU(s) the portal does not know: %s",
                     cur[4]);
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, B2BLOG(06023)
                 "erp: stock pull%s: %s level(s), %s newer than on file",
                 full ? " (full)" : "", cur[0], cur[2]);
    args[0] = cur[5];
    args[1] = cur[0];
    args[2] = full ? "1" : "0";
    db_value(db, p, SS_OK, 3, args);
}

void b2b_erp_stock_task(b2b_worker_ctx_t *ctx, void *baton)
{
    server_rec *s = b2b_worker_server(ctx);
    apr_pool_t *pool = b2b_worker_pool(ctx), *iter;
    b2b_erp_settings_t cfg;
    const b2b_erp_adapter_t *adapter;
    b2b_erp_instance_t *erp = NULL;
    erp_db_t db;
    apr_time_t next = 0;
    char err[256];
    (void)baton;

    b2b_erp_settings(s, &cfg);
    adapter = b2b_erp_adapter_find(cfg.adapter);
    if (!cfg.url || !adapter || cfg.stock_interval_s == 0) {
        idle_until_stopped(ctx);
        return;
    }
    memset(&db, 0, sizeof(db));
    db.ctx = ctx;
    db.parent = pool;
    db.nstmts = 4;
    db.sql[SS_CURSOR] = SQL_STOCK_CURSOR;
    db.sql[SS_APPLY] = B2B_ERP_SQL_APPLY_STOCK;
    db.sql[SS_OK] = SQL_STOCK_OK;
    db.sql[SS_FAILED] = SQL_STOCK_FAILED;
    apr_pool_create(&iter, pool);

    while (!b2b_worker_stopping(ctx)) {
        b2b_worker_beat(ctx);
        if (apr_time_now() < next) {
            b2b_worker_sleep(ctx, 500);
            continue;
        }
        if (!erp) {
            b2b_erp_config_t ec;
            memset(&ec, 0, sizeof(ec));
            ec.url = cfg.url;
            ec.timeout_ms = cfg.timeout_ms * 3;   /* a full list takes longer */
            if (b2b_erp_instance_create(adapter, &ec, &erp, err, sizeof(err))) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(06024)
                             "erp: cannot start the %s adapter: %s", adapter->name, err);
                erp = NULL;
                next = apr_time_now() + apr_time_from_sec(cfg.stock_interval_s);
                continue;
            }
        }
        if (db_ready(&db) != 0) {
            db_backoff(&db);
            continue;
        }
        apr_pool_clear(iter);
        pull_stock(ctx, &db, erp, iter);
        next = apr_time_now() + apr_time_from_sec(cfg.stock_interval_s);
    }
    db_close(&db);
    b2b_erp_instance_destroy(erp);
}
