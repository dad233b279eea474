/*
 * b2b_worker.c: the one background worker per httpd instance.
 *
 * Like mod_cgid's daemon it is forked by the parent in the real (second)
 * post_config pass, so there is exactly one whatever the MPM and however many
 * children run; it is watched with apr_proc_other_child_register, restarted
 * when it dies unless httpd is stopping, and stopped (TERM, then KILL) when
 * pconf is cleared on restart or shutdown. It closes the listeners, drops
 * privileges, opens its own database connections (mod_dbd pools only exist
 * in children) and runs each registered task in its own thread.
 *
 * Its state lives in PostgreSQL; the shared segment below only carries its
 * heartbeat to /admin/status, and it is fine to lose it on a restart.
 */
#include "b2b_core.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "ap_listen.h"
#include "http_core.h"
#include "mpm_common.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_signal.h"
#include "apr_atomic.h"

#include <signal.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

APLOG_USE_MODULE(b2bportal);

#define B2B_WORKER_MAGIC 0xb2b0a11eU
#define B2B_WORKER_MAX_TASKS 16
#define B2B_WORKER_NAME "b2b-worker"

typedef struct task_def_t {
    const char *name;
    b2b_worker_task_fn fn;
    void *baton;
} task_def_t;

typedef struct task_slot_t {
    char name[32];
    volatile apr_uint64_t beat_us;
} task_slot_t;

/* Lives in anonymous shared memory: plain values, no pointers. */
typedef struct worker_shm_t {
    apr_uint32_t magic;
    volatile apr_uint32_t pid;
    volatile apr_uint32_t db_ok;
    volatile apr_uint32_t ntasks;
    volatile apr_uint64_t started_us;
    volatile apr_uint64_t beat_us;
    volatile apr_uint64_t restarts;
    task_slot_t tasks[B2B_WORKER_MAX_TASKS];
} worker_shm_t;

struct b2b_worker_ctx_t {
    server_rec *s;
    apr_pool_t *pool;
    int slot;
};

typedef struct status_section_t {
    const char *name;
    b2b_status_fn fn;
} status_section_t;

static apr_array_header_t *status_sections;   /* in pconf */

static apr_array_header_t *task_defs;  /* in pconf */
static worker_shm_t *wshm;
static apr_shm_t *wshm_seg;
static apr_proc_t *worker_proc;
static apr_pool_t *worker_pconf;
static server_rec *worker_server;
static volatile sig_atomic_t stop_requested;
static pid_t parent_pid;

/* Survives restarts (kept in the process pool) so the count is honest. */
static apr_uint64_t *restart_counter(server_rec *s)
{
    void *data = NULL;
    const char *key = "b2b_worker_restarts";
    apr_pool_userdata_get(&data, key, s->process->pool);
    if (!data) {
        data = apr_pcalloc(s->process->pool, sizeof(apr_uint64_t));
        apr_pool_userdata_set(data, key, apr_pool_cleanup_null, s->process->pool);
    }
    return data;
}

void b2b_worker_reset(apr_pool_t *pconf)
{
    status_sections = apr_array_make(pconf, 8, sizeof(status_section_t));
    task_defs = apr_array_make(pconf, 8, sizeof(task_def_t));
    wshm = NULL;
    worker_proc = NULL;
}

void b2b_worker_task_add(const char *name, b2b_worker_task_fn fn, void *baton)
{
    task_def_t *t;
    if (task_defs->nelts >= B2B_WORKER_MAX_TASKS - 1) {
        return;
    }
    t = apr_array_push(task_defs);
    t->name = name;
    t->fn = fn;
    t->baton = baton;
}

/* ---- inside the worker ---------------------------------------------------- */

server_rec *b2b_worker_server(b2b_worker_ctx_t *ctx) { return ctx->s; }
apr_pool_t *b2b_worker_pool(b2b_worker_ctx_t *ctx) { return ctx->pool; }

int b2b_worker_stopping(b2b_worker_ctx_t *ctx)
{
    (void)ctx;
    return stop_requested || getppid() != parent_pid;
}

void b2b_worker_sleep(b2b_worker_ctx_t *ctx, int msec)
{
    while (msec > 0 && !b2b_worker_stopping(ctx)) {
        int step = msec > 50 ? 50 : msec;
        apr_sleep(apr_time_from_msec(step));
        msec -= step;
    }
}

void b2b_worker_beat(b2b_worker_ctx_t *ctx)
{
    if (wshm && ctx->slot >= 0 && ctx->slot < B2B_WORKER_MAX_TASKS) {
        wshm->tasks[ctx->slot].beat_us = (apr_uint64_t)apr_time_now();
    }
}

apr_status_t b2b_worker_db_open(b2b_worker_ctx_t *ctx, apr_pool_t *p,
                                const apr_dbd_driver_t **driver,
                                apr_dbd_t **handle)
{
    const char *params = b2b_conf_db_params(ctx->s);
    const char *err = NULL;
    apr_status_t rv;

    if (!params) {
        return APR_EINVAL;
    }
    rv = apr_dbd_get_driver(p, "pgsql", driver);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ctx->s, B2BLOG(02001)
                     "worker: the pgsql DBD driver is missing; install "
                     "libaprutil1-dbd-pgsql");
        return rv;
    }
    rv = apr_dbd_open_ex(*driver, p, params, handle, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ctx->s, B2BLOG(02002)
                     "worker: cannot connect to PostgreSQL (%s); will retry. "
                     "Check " B2B_DIR_WORKER_DB, err ? err : "no detail");
    }
    return rv;
}

static void worker_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The built-in task: keeps one connection and tells status whether the
 * database answers, so an operator sees a dead DB before buyers do. */
static void db_probe_task(b2b_worker_ctx_t *ctx, void *baton)
{
    apr_pool_t *p = NULL;
    const apr_dbd_driver_t *driver = NULL;
    apr_dbd_t *handle = NULL;
    (void)baton;

    while (!b2b_worker_stopping(ctx)) {
        int nrows = 0;
        if (!handle) {
            if (p) {
                apr_pool_destroy(p);
            }
            apr_pool_create(&p, ctx->pool);
            if (b2b_worker_db_open(ctx, p, &driver, &handle) != APR_SUCCESS) {
                handle = NULL;
            }
        }
        if (handle && apr_dbd_query(driver, handle, &nrows, "SELECT 1") != 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s, B2BLOG(02003)
                         "worker: lost the database connection; reconnecting");
            apr_dbd_close(driver, handle);
            handle = NULL;
        }
        wshm->db_ok = handle ? 1 : 0;
        b2b_worker_beat(ctx);
        b2b_worker_sleep(ctx, handle ? 2000 : 1000);
    }
    if (handle) {
        apr_dbd_close(driver, handle);
    }
    if (p) {
        apr_pool_destroy(p);
    }
}

static void *APR_THREAD_FUNC task_thread(apr_thread_t *thd, void *data)
{
    task_def_t *def = ((void **)data)[0];
    b2b_worker_ctx_t *ctx = ((void **)data)[1];
    def->fn(ctx, def->baton);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

static void worker_main(apr_pool_t *pool, server_rec *s)
{
    apr_thread_t *threads[B2B_WORKER_MAX_TASKS];
    int i, n = 0;
    sigset_t set;

#ifdef __linux__
    prctl(PR_SET_NAME, B2B_WORKER_NAME, 0, 0, 0);
    /* die with the parent even if it is killed hard */
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
#endif
    apr_signal(SIGTERM, worker_signal);
    apr_signal(SIGHUP, worker_signal);
    apr_signal(SIGINT, worker_signal);
    apr_signal(AP_SIG_GRACEFUL, worker_signal);
    apr_signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);

    ap_close_listeners();
    if (ap_run_drop_privileges(pool, s)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, B2BLOG(02004)
                     "worker: could not drop privileges; it will not run");
        _exit(1);
    }
    apr_dbd_init(pool);

    wshm->pid = (apr_uint32_t)getpid();
    wshm->started_us = (apr_uint64_t)apr_time_now();
    wshm->beat_us = wshm->started_us;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(02005)
                 "worker %d started with %d task(s)", (int)getpid(),
                 task_defs->nelts);

    for (i = 0; i < task_defs->nelts && i < B2B_WORKER_MAX_TASKS; i++) {
        void **data = apr_palloc(pool, 2 * sizeof(void *));
        b2b_worker_ctx_t *ctx = apr_pcalloc(pool, sizeof(*ctx));
        ctx->s = s;
        ctx->slot = i;
        apr_pool_create(&ctx->pool, pool);
        data[0] = &APR_ARRAY_IDX(task_defs, i, task_def_t);
        data[1] = ctx;
        if (apr_thread_create(&threads[n], NULL, task_thread, data, pool)
            == APR_SUCCESS) {
            n++;
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, B2BLOG(02006)
                         "worker: could not start task %s",
                         APR_ARRAY_IDX(task_defs, i, task_def_t).name);
        }
    }
    while (!stop_requested && getppid() == parent_pid) {
        wshm->beat_us = (apr_uint64_t)apr_time_now();
        apr_sleep(apr_time_from_msec(200));
    }
    stop_requested = 1;
    for (i = 0; i < n; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, threads[i]);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, B2BLOG(02007)
                 "worker %d stopped", (int)getpid());
    wshm->pid = 0;
    /* skip atexit/pool cleanups: they belong to the parent's configuration */
    _exit(0);
}

/* ---- in the parent ---------------------------------------------------------- */

static void worker_maintenance(int reason, void *data, apr_wait_t status);

static apr_status_t worker_start(apr_pool_t *pconf, server_rec *s)
{
    apr_proc_t *proc = apr_pcalloc(pconf, sizeof(*proc));
    apr_status_t rv;

    parent_pid = getpid();
    rv = apr_proc_fork(proc, pconf);
    if (rv == APR_INCHILD) {
        apr_pool_t *wpool;
        apr_pool_create(&wpool, pconf);
        worker_main(wpool, s);
        _exit(0);
    }
    if (rv != APR_INPARENT) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, B2BLOG(02008)
                     "could not fork the background worker; the order queue "
                     "and price updates wait until httpd is restarted");
        return rv;
    }
    worker_proc = proc;
    apr_proc_other_child_register(proc, worker_maintenance, proc, NULL, pconf);
    return APR_SUCCESS;
}

static void worker_stop_wait(apr_proc_t *proc)
{
    int i, status;
    if (kill(proc->pid, SIGTERM) != 0) {
        return;
    }
    for (i = 0; i < 100; i++) {   /* up to 5 s, then no mercy */
        if (waitpid(proc->pid, &status, WNOHANG) == proc->pid) {
            return;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    kill(proc->pid, SIGKILL);
    waitpid(proc->pid, &status, 0);
}

static void worker_maintenance(int reason, void *data, apr_wait_t status)
{
    apr_proc_t *proc = data;
    int mpm_state = AP_MPMQ_STOPPING;
    (void)status;

    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(data);
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS
            && mpm_state != AP_MPMQ_STOPPING) {
            apr_uint64_t *restarts = restart_counter(worker_server);
            (*restarts)++;
            if (wshm) {
                wshm->restarts = *restarts;
                wshm->pid = 0;
            }
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, worker_server,
                         B2BLOG(02009) "worker %d died (status %d); "
                         "starting a new one", (int)proc->pid, (int)status);
            worker_start(worker_pconf, worker_server);
        }
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(data);
        worker_stop_wait(proc);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* pconf is being cleared: restart or shutdown */
        worker_stop_wait(proc);
        break;
    default:
        break;
    }
}

int b2b_worker_post_config(apr_pool_t *pconf, server_rec *s)
{
    b2b_server_conf_t *conf = b2b_server_conf(s);
    apr_status_t rv;
    int i;

    /* the first pass is a dry run: fork nothing */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    rv = apr_shm_create(&wshm_seg, sizeof(worker_shm_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, B2BLOG(02010)
                     "cannot create the worker status segment");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    wshm = apr_shm_baseaddr_get(wshm_seg);
    memset(wshm, 0, sizeof(*wshm));
    wshm->magic = B2B_WORKER_MAGIC;
    wshm->restarts = *restart_counter(s);

    if (conf->worker_enabled == 0) {
        return OK;
    }
    b2b_worker_task_add("db-probe", db_probe_task, NULL);
    wshm->ntasks = (apr_uint32_t)task_defs->nelts;
    for (i = 0; i < task_defs->nelts && i < B2B_WORKER_MAX_TASKS; i++) {
        apr_cpystrn(wshm->tasks[i].name,
                    APR_ARRAY_IDX(task_defs, i, task_def_t).name,
                    sizeof(wshm->tasks[i].name));
    }
    if (!conf->worker_db) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, B2BLOG(02011)
                     B2B_DIR_WORKER_DB " is not set: the worker runs but "
                     "cannot reach the database");
    }
    worker_pconf = pconf;
    worker_server = s;
    worker_start(pconf, s);
    return OK;
}

/* ---- GET /admin/status ------------------------------------------------------- */

void b2b_status_add(const char *name, b2b_status_fn fn)
{
    status_section_t *sec = apr_array_push(status_sections);
    sec->name = name;
    sec->fn = fn;
}

static int handle_status(b2b_req_t *req)
{
    apr_time_t now = apr_time_now();
    json_t *tasks = json_array(), *worker, *out;
    int alive = 0;
    apr_uint32_t i;

    if (wshm && wshm->pid) {
        alive = kill((pid_t)wshm->pid, 0) == 0 || errno == EPERM;
    }
    if (wshm) {
        for (i = 0; i < wshm->ntasks && i < B2B_WORKER_MAX_TASKS; i++) {
            apr_uint64_t beat = wshm->tasks[i].beat_us;
            json_array_append_new(tasks, json_pack("{s:s,s:o}",
                "name", wshm->tasks[i].name,
                "last_beat_ms_ago", beat ? json_integer((json_int_t)
                                    ((apr_uint64_t)now - beat) / 1000)
                                         : json_null()));
        }
    }
    worker = json_pack("{s:s,s:i,s:o,s:I,s:b,s:o}",
        "state", !wshm ? "off" : alive ? "running" : "starting",
        "pid", wshm ? (int)wshm->pid : 0,
        "last_beat_ms_ago", wshm && wshm->beat_us
            ? json_integer((json_int_t)((apr_uint64_t)now - wshm->beat_us) / 1000)
            : json_null(),
        "restarts", (json_int_t)(wshm ? wshm->restarts : 0),
        "database_ok", wshm && wshm->db_ok,
        "tasks", tasks);
    out = json_pack("{s:o}", "worker", worker);
    for (i = 0; i < (apr_uint32_t)status_sections->nelts; i++) {
        status_section_t *sec = &APR_ARRAY_IDX(status_sections, i,
                                               status_section_t);
        json_t *v = sec->fn(req);
        json_object_set_new(out, sec->name, v ? v : json_null());
    }
    return b2b_reply_json(req->r, HTTP_OK, out);
}

void b2b_worker_register_routes(void)
{
    b2b_route_add("GET", "/admin/status", handle_status, B2B_ROUTE_ADMIN);
}
