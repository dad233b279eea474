/*
 * b2b_api.h: what the core module (mod_b2bportal) offers the capability
 * modules (pricing, catalog, cart, orders, ...): the route table, the request
 * context (who calls, for which account), JSON replies and the error model,
 * prepared statements through mod_dbd, and the background worker's task list.
 *
 * Capability modules built as their own .so resolve these symbols from
 * mod_b2bportal.so (httpd loads modules RTLD_GLOBAL, as mod_proxy_* rely on):
 * LoadModule b2bportal_module comes first.
 */
#ifndef B2B_API_H
#define B2B_API_H

#include "httpd.h"
#include "http_config.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include <jansson.h>

/* Log tags are ours, stable and greppable: B2B + 5 digits, grouped by area:
 * 00xxx core, 01xxx identity, 02xxx worker, 03xxx pricing, 04xxx catalog,
 * 05xxx orders, 06xxx ERP. */
#define B2BLOG(n) "B2B" #n ": "

/* ---- request context ---------------------------------------------------- */

typedef enum {
    B2B_ROLE_BUYER         = 1 << 0,
    B2B_ROLE_APPROVER      = 1 << 1,
    B2B_ROLE_ACCOUNT_ADMIN = 1 << 2
} b2b_role_e;

typedef struct b2b_account_ref_t {
    apr_int64_t id;
    const char *code;
    const char *name;
    const char *currency;
    const char *country;
    unsigned roles;          /* b2b_role_e bits that let the user act here */
} b2b_account_ref_t;

typedef struct b2b_identity_t {
    apr_int64_t user_id;
    const char *username;
    const char *display_name;
    const char *global_role;     /* "portal_admin", "integration" or "" */
    const char *home_account;    /* account code or "" */
    /* every account the user may act for, sorted by code */
    apr_array_header_t *accounts; /* of b2b_account_ref_t */
} b2b_identity_t;

typedef struct b2b_req_t {
    request_rec *r;
    const b2b_identity_t *who;
    const b2b_account_ref_t *acting;  /* NULL for users without an account */
    const char *params[4];            /* {name} segments of the route, in order */
    int nparams;
    json_t *body;                     /* parsed JSON body, when the route takes one */
    const char *raw_body;             /* raw body (e.g. text/csv), NUL-terminated */
    apr_size_t raw_len;
} b2b_req_t;

/* Answers 403 (same company) or 404 (unknown, or another company) for an
 * account code the caller may not act for or see; returns DONE. */
int b2b_account_denied(b2b_req_t *req, const char *code);
/* The caller's account entry for code, or NULL if they may not act for it. */
const b2b_account_ref_t *b2b_identity_account(const b2b_identity_t *who,
                                              const char *code);
int b2b_is_portal_admin(const b2b_req_t *req);

/* ---- routes --------------------------------------------------------------- */

typedef int (*b2b_route_fn)(b2b_req_t *req);

#define B2B_ROUTE_JSON_BODY   0x01  /* body must be application/json */
#define B2B_ROUTE_RAW_BODY    0x02  /* body read as is (e.g. text/csv) */
#define B2B_ROUTE_ADMIN       0x04  /* portal operators only */
#define B2B_ROUTE_INTEGRATION 0x08  /* the ERP integration user only */
#define B2B_ROUTE_NO_ACCOUNT  0x10  /* needs no acting account */
/* with B2B_ROUTE_JSON_BODY: check the content type and read the body, but
 * leave the parsing to the route (req->raw_body) */
#define B2B_ROUTE_UNPARSED    0x20

/* Register during pre_config (the table lives in pconf and is rebuilt on
 * every restart). The pattern is relative to the API base, e.g.
 * "/accounts/{code}"; "{x}" matches one path segment. */
void b2b_route_add(const char *method, const char *pattern, b2b_route_fn fn,
                   unsigned flags);

/* ---- replies -------------------------------------------------------------- */

/* Sends the JSON value (and takes its reference) with the given status. */
int b2b_reply_json(request_rec *r, int status, json_t *value);
/* {"error": {"code", "message"}} with the status; returns DONE-style OK. */
int b2b_reply_error(request_rec *r, int status, const char *code,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 503 database_unavailable with Retry-After; returns DONE. */
int b2b_reply_db_down(request_rec *r);

/* Query-string helpers. b2b_query_arg: the decoded value of ?name=, NULL if
 * absent, "\x01" (never valid) if it does not decode. b2b_query_int: OK with
 * *out set (dflt when absent), or DONE after answering 422. */
const char *b2b_query_arg(request_rec *r, const char *name);
int b2b_query_int(request_rec *r, const char *name, int dflt, int lo, int hi,
                  int *out);

/* Sends JSON text that is already encoded (e.g. from a pure C renderer). */
int b2b_reply_json_text(request_rec *r, int status, const char *text);

/* json_t owned by a pool: decref'd when the pool is cleared. */
json_t *b2b_json_pool_own(apr_pool_t *p, json_t *value);

/* ---- database ----------------------------------------------------------- */

/* Queue a statement to be prepared (call in pre_config or post_config before
 * mod_dbd's post_config); label is looked up later with b2b_db_stmt. */
void b2b_db_prepare(const char *label, const char *sql);
/* The pooled connection of this request, or NULL (503 already logged). */
ap_dbd_t *b2b_db(request_rec *r);
apr_dbd_prepared_t *b2b_db_stmt(request_rec *r, ap_dbd_t *dbd, const char *label);

/* Runs a prepared select and returns every row as an array of column
 * strings (NULL for SQL NULL), reading the result through to its end.
 * Returns NULL on error (logged); rows->nelts may be 0. */
apr_array_header_t *b2b_db_select(request_rec *r, ap_dbd_t *dbd,
                                  const char *label, int nargs,
                                  const char **args, int *ncols);
/* Runs a prepared insert/update/delete; returns affected rows or -1. */
int b2b_db_exec(request_rec *r, ap_dbd_t *dbd, const char *label,
                int nargs, const char **args);

/* ---- the background worker ---------------------------------------------- */

typedef struct b2b_worker_ctx_t b2b_worker_ctx_t;
typedef void (*b2b_worker_task_fn)(b2b_worker_ctx_t *ctx, void *baton);

/* Register before the worker starts (pre_config, or post_config at
 * APR_HOOK_MIDDLE or earlier). Each task runs in its own thread of the
 * worker process and must return soon after b2b_worker_stopping() is true. */
void b2b_worker_task_add(const char *name, b2b_worker_task_fn fn, void *baton);

server_rec *b2b_worker_server(b2b_worker_ctx_t *ctx);
apr_pool_t *b2b_worker_pool(b2b_worker_ctx_t *ctx);
int b2b_worker_stopping(b2b_worker_ctx_t *ctx);
/* Sleep up to msec, waking early when the worker is asked to stop. */
void b2b_worker_sleep(b2b_worker_ctx_t *ctx, int msec);
/* Opens the worker's own connection (mod_dbd pools exist only in children). */
apr_status_t b2b_worker_db_open(b2b_worker_ctx_t *ctx, apr_pool_t *p,
                                const apr_dbd_driver_t **driver,
                                apr_dbd_t **handle);
/* Marks the task alive; /admin/status shows the age of the last beat. */
void b2b_worker_beat(b2b_worker_ctx_t *ctx);

/* A section of GET /admin/status, e.g. "pricing"; register in pre_config. */
typedef json_t *(*b2b_status_fn)(b2b_req_t *req);
void b2b_status_add(const char *name, b2b_status_fn fn);

/* Server-level settings other modules read. */
const char *b2b_conf_redis(server_rec *s);           /* "host:port" or NULL */
const char *b2b_conf_db_params(server_rec *s);       /* worker's conninfo */

#endif
