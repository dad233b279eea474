/*
 * b2b_http.c: the /api/v1 front door. A table of routes, JSON replies and
 * the error model of API.md, bodies read with a size limit, and the checks
 * every route shares (who may call it, for which account).
 */
#include "b2b_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(b2bportal);

#define B2B_MAX_SEGMENTS 8

typedef struct route_t {
    const char *method;
    int method_number;
    const char *segments[B2B_MAX_SEGMENTS];  /* "{}" for a parameter */
    int nsegments;
    b2b_route_fn fn;
    unsigned flags;
} route_t;

static apr_array_header_t *routes;     /* of route_t, in pconf */
static apr_pool_t *routes_pool;

void b2b_routes_reset(apr_pool_t *pconf)
{
    routes_pool = pconf;
    routes = apr_array_make(pconf, 64, sizeof(route_t));
}

void b2b_route_add(const char *method, const char *pattern, b2b_route_fn fn,
                   unsigned flags)
{
    route_t *rt = apr_array_push(routes);
    char *copy = apr_pstrdup(routes_pool, pattern), *tok, *last;
    memset(rt, 0, sizeof(*rt));
    rt->method = method;
    rt->method_number = ap_method_number_of(method);
    rt->fn = fn;
    rt->flags = flags;
    for (tok = apr_strtok(copy, "/", &last); tok && rt->nsegments < B2B_MAX_SEGMENTS;
         tok = apr_strtok(NULL, "/", &last)) {
        rt->segments[rt->nsegments++] = tok[0] == '{' ? "{}" : tok;
    }
}

/* ---- replies -------------------------------------------------------------- */

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *b2b_json_pool_own(apr_pool_t *p, json_t *value)
{
    if (value) {
        apr_pool_cleanup_register(p, value, json_cleanup, apr_pool_cleanup_null);
    }
    return value;
}

int b2b_reply_json_text(request_rec *r, int status, const char *text)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    if (!apr_table_get(r->headers_out, "Cache-Control")) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    }
    if (!r->header_only) {
        ap_rputs(text, r);
        ap_rputc('\n', r);
    }
    return OK;
}

int b2b_reply_json(request_rec *r, int status, json_t *value)
{
    char *text;
    if (!value) {
        return b2b_reply_error(r, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                               "The server could not build the answer.");
    }
    text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(value);
    if (!text) {
        return b2b_reply_error(r, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                               "The server could not encode the answer.");
    }
    b2b_reply_json_text(r, status, text);
    free(text);   /* json_dumps mallocs */
    return OK;
}

int b2b_reply_error(request_rec *r, int status, const char *code,
                    const char *fmt, ...)
{
    va_list ap;
    const char *message;
    json_t *err;
    char *text;

    va_start(ap, fmt);
    message = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    text = err ? json_dumps(err, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(err);
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (status == HTTP_UNAUTHORIZED && !apr_table_get(r->err_headers_out,
                                                      "WWW-Authenticate")) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Basic realm=\"b2bportal\"");
    }
    if (!r->header_only) {
        ap_rputs(text ? text : "{\"error\":{\"code\":\"internal_error\","
                               "\"message\":\"error\"}}", r);
        ap_rputc('\n', r);
    }
    free(text);
    return OK;
}

int b2b_reply_db_down(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                    "The portal database is not answering; try again.");
    return DONE;
}

/* ---- query strings ------------------------------------------------------ */

const char *b2b_query_arg(request_rec *r, const char *name)
{
    const char *p;
    apr_size_t n = strlen(name);
    for (p = r->args; p && *p; ) {
        if (!strncmp(p, name, n) && p[n] == '=') {
            const char *v = p + n + 1, *e = strchr(v, '&');
            char *val = e ? apr_pstrmemdup(r->pool, v, (apr_size_t)(e - v))
                          : apr_pstrdup(r->pool, v);
            if (ap_unescape_url(val) != OK) {
                return "\x01";
            }
            return val;
        }
        p = strchr(p, '&');
        if (p) {
            p++;
        }
    }
    return NULL;
}

int b2b_query_int(request_rec *r, const char *name, int dflt, int lo, int hi,
                  int *out)
{
    const char *v = b2b_query_arg(r, name);
    char *end;
    long n;
    if (!v) {
        *out = dflt;
        return OK;
    }
    n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        b2b_reply_error(r, HTTP_UNPROCESSABLE_ENTITY, "invalid_parameter",
                        "%s must be an integer from %d to %d.", name, lo, hi);
        return DONE;
    }
    *out = (int)n;
    return OK;
}

/* ---- bodies ----------------------------------------------------------------- */

/* Reads the whole body up to limit bytes; NULL + *status set on failure. */
static char *read_body(request_rec *r, apr_off_t limit, apr_size_t *len,
                       int *status)
{
    apr_size_t cap = 8192, used = 0;
    char *buf;
    long n;
    const char *cl = apr_table_get(r->headers_in, "Content-Length");

    *status = OK;
    if (cl) {
        char *end;
        apr_int64_t v = apr_strtoi64(cl, &end, 10);
        if (*end || v < 0) {
            *status = HTTP_BAD_REQUEST;
            return NULL;
        }
        if (v > limit) {
            *status = HTTP_REQUEST_ENTITY_TOO_LARGE;
            return NULL;
        }
        if ((apr_size_t)v + 1 > cap) {
            cap = (apr_size_t)v + 1;
        }
    }
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        *status = HTTP_BAD_REQUEST;
        return NULL;
    }
    buf = apr_palloc(r->pool, cap);
    if (!ap_should_client_block(r)) {
        buf[0] = '\0';
        *len = 0;
        return buf;
    }
    for (;;) {
        if (cap - used < 4096) {
            apr_size_t ncap = cap * 2;
            char *nbuf;
            if ((apr_off_t)ncap > limit + 4096) {
                ncap = (apr_size_t)limit + 4096;
            }
            nbuf = apr_palloc(r->pool, ncap);
            memcpy(nbuf, buf, used);
            buf = nbuf;
            cap = ncap;
        }
        n = ap_get_client_block(r, buf + used, cap - used - 1);
        if (n < 0) {
            *status = HTTP_BAD_REQUEST;
            return NULL;
        }
        if (n == 0) {
            break;
        }
        used += (apr_size_t)n;
        if ((apr_off_t)used > limit) {
            *status = HTTP_REQUEST_ENTITY_TOO_LARGE;
            return NULL;
        }
    }
    buf[used] = '\0';
    *len = used;
    return buf;
}

static int content_type_is(request_rec *r, const char *want)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t n = strlen(want);
    return ct && !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';'
                                                || apr_isspace(ct[n]));
}

/* ---- routing ----------------------------------------------------------------- */

static int segment_ok(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++, n++) {
        if (!apr_isalnum(*s) && *s != '-' && *s != '_' && *s != '.') {
            return 0;
        }
    }
    return n > 0 && n <= 64;
}

static int route_match(const route_t *rt, char **segs, int nsegs, b2b_req_t *req)
{
    int i;
    if (rt->nsegments != nsegs) {
        return 0;
    }
    req->nparams = 0;
    for (i = 0; i < nsegs; i++) {
        if (!strcmp(rt->segments[i], "{}")) {
            if (!segment_ok(segs[i]) || req->nparams >= 4) {
                return 0;
            }
            req->params[req->nparams++] = segs[i];
        }
        else if (strcmp(rt->segments[i], segs[i])) {
            return 0;
        }
    }
    return 1;
}

static int run_route(b2b_req_t *req, const route_t *rt)
{
    request_rec *r = req->r;
    b2b_dir_conf_t *dconf = b2b_dir_conf(r);
    apr_off_t limit = dconf->max_body != B2B_UNSET_SIZE ? dconf->max_body
                                                         : B2B_DEFAULT_MAX_BODY;
    int rc;

    rc = b2b_identity_resolve(req, !(rt->flags & (B2B_ROUTE_NO_ACCOUNT |
                                                  B2B_ROUTE_ADMIN |
                                                  B2B_ROUTE_INTEGRATION)));
    if (rc != OK) {
        return OK;      /* already answered */
    }
    if ((rt->flags & B2B_ROUTE_ADMIN)
        && strcmp(req->who->global_role, "portal_admin")) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "forbidden",
                               "This endpoint is for portal operators.");
    }
    if ((rt->flags & B2B_ROUTE_INTEGRATION)
        && strcmp(req->who->global_role, "integration")) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "forbidden",
                               "This endpoint is for the ERP integration user.");
    }
    if (rt->flags & (B2B_ROUTE_JSON_BODY | B2B_ROUTE_RAW_BODY)) {
        int status;
        apr_size_t len = 0;
        char *body;
        /* an empty body needs no content type (e.g. a preview of a delete) */
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        int has_body = (cl && strcmp(cl, "0"))
                       || apr_table_get(r->headers_in, "Transfer-Encoding");
        if ((rt->flags & B2B_ROUTE_JSON_BODY) && has_body
            && !content_type_is(r, "application/json")) {
            return b2b_reply_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "unsupported_media_type",
                                   "Send the body as application/json.");
        }
        body = read_body(r, limit, &len, &status);
        if (!body) {
            if (status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
                return b2b_reply_error(r, status, "body_too_large",
                                       "The body is larger than %" APR_OFF_T_FMT
                                       " bytes.", limit);
            }
            return b2b_reply_error(r, HTTP_BAD_REQUEST, "bad_body",
                                   "The request body could not be read.");
        }
        req->raw_body = body;
        req->raw_len = len;
        if ((rt->flags & B2B_ROUTE_JSON_BODY) && !(rt->flags & B2B_ROUTE_UNPARSED)) {
            json_error_t jerr;
            json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
            if (!v) {
                return b2b_reply_error(r, HTTP_BAD_REQUEST, "malformed_json",
                                       "The body is not valid JSON (line %d, "
                                       "column %d: %s).", jerr.line,
                                       jerr.column, jerr.text);
            }
            req->body = b2b_json_pool_own(r->pool, v);
        }
    }
    rc = rt->fn(req);
    return rc == DONE ? OK : rc;
}

int b2b_api_dispatch(request_rec *r)
{
    b2b_dir_conf_t *dconf = b2b_dir_conf(r);
    const char *base = dconf->api_base ? dconf->api_base : B2B_DEFAULT_API_BASE;
    apr_size_t blen = strlen(base);
    const char *rest;
    char *segs[B2B_MAX_SEGMENTS + 1], *copy, *tok, *last;
    int nsegs = 0, i, path_matched = 0;
    const char *allow = NULL;
    b2b_req_t *req;

    if (strncmp(r->uri, base, blen) || (r->uri[blen] && r->uri[blen] != '/')) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found",
                               "No such endpoint.");
    }
    rest = r->uri + blen;
    copy = apr_pstrdup(r->pool, rest);
    for (tok = apr_strtok(copy, "/", &last); tok; tok = apr_strtok(NULL, "/", &last)) {
        if (nsegs == B2B_MAX_SEGMENTS) {
            return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found",
                                   "No such endpoint.");
        }
        segs[nsegs++] = tok;
    }

    req = apr_pcalloc(r->pool, sizeof(*req));
    req->r = r;
    for (i = 0; i < routes->nelts; i++) {
        const route_t *rt = &APR_ARRAY_IDX(routes, i, route_t);
        if (!route_match(rt, segs, nsegs, req)) {
            continue;
        }
        path_matched = 1;
        if (rt->method_number == r->method_number
            || (r->method_number == M_GET && r->header_only
                && rt->method_number == M_GET)) {
            return run_route(req, rt);
        }
        allow = allow ? apr_pstrcat(r->pool, allow, ", ", rt->method, NULL)
                      : rt->method;
    }
    if (path_matched) {
        apr_table_setn(r->err_headers_out, "Allow", allow);
        return b2b_reply_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                               "%s is not allowed here; use %s.", r->method,
                               allow);
    }
    return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
}

/* POST /_echo: the body pipeline alone (limits, content type, JSON parsing),
 * for tests. Off unless B2BDiagnostics is On for the server. */
static int handle_echo(b2b_req_t *req)
{
    if (b2b_server_conf(req->r->server)->diagnostics != 1) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "not_found",
                               "No such endpoint.");
    }
    return b2b_reply_json(req->r, HTTP_OK,
                          json_pack("{s:O}", "received", req->body));
}

/* GET /_ping and GET /_pk/{sku}: the benchmarks' ceilings, through the
 * same authentication, identity and routing as every real endpoint: a
 * trivial JSON answer, and one primary-key SELECT through mod_dbd. */
static int handle_ping(b2b_req_t *req)
{
    if (b2b_server_conf(req->r->server)->diagnostics != 1) {
        return b2b_reply_error(req->r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
    }
    return b2b_reply_json(req->r, HTTP_OK, json_pack("{s:b,s:s}", "ok", 1,
                                                     "account", req->acting->code));
}

static int handle_pk(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *args[1] = { req->params[0] };
    apr_array_header_t *rows;
    ap_dbd_t *dbd;
    const char **row;

    if (b2b_server_conf(r->server)->diagnostics != 1) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "not_found", "No such endpoint.");
    }
    if (!(dbd = b2b_db(r))
        || !(rows = b2b_db_select(r, dbd, "b2b_diag_pk", 1, args, NULL))) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "unknown_sku", "No such product.");
    }
    row = APR_ARRAY_IDX(rows, 0, const char **);
    return b2b_reply_json(r, HTTP_OK, json_pack("{s:s,s:s}", "id", row[0], "name", row[1]));
}

void b2b_http_register(void)
{
    b2b_db_prepare("b2b_diag_pk", "SELECT id::text, name FROM products WHERE sku = %s");
    b2b_route_add("POST", "/_echo", handle_echo,
                  B2B_ROUTE_JSON_BODY | B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("GET", "/_ping", handle_ping, 0);
    b2b_route_add("GET", "/_pk/{sku}", handle_pk, 0);
}
