/*
 * b2b_identity.c: who is calling and for which account. Apache has already
 * authenticated r->user (mod_auth_basic + mod_authn_dbd, or the site's form
 * login); here we load the user's roles along the account tree and decide
 * whether the X-B2B-Account they ask for is theirs to act for.
 *
 * Rules: a buyer acts for the account of the membership only; an approver or
 * account admin acts for that account and its whole subtree. An account in
 * another company is reported as not found, so codes do not leak across
 * companies; one in the same company the user may not act for is a 403.
 *
 * A per-process cache (B2BIdentityCacheTTL) keeps the two lookups off the hot
 * path; a role change is seen within that many seconds.
 */
#include "b2b_core.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_lib.h"

/* Errors answered here return DONE so the caller stops; OK means go on. */
#define ANSWERED(reply) ((void)(reply), DONE)

APLOG_USE_MODULE(b2bportal);

#define SQL_USER \
    "SELECT u.id, u.username, coalesce(u.display_name, u.username), " \
    "coalesce(u.global_role, ''), coalesce(a.code, '') " \
    "FROM users u LEFT JOIN accounts a ON a.id = u.account_id " \
    "WHERE u.username = %s AND u.active"

#define SQL_USER_ACCOUNTS \
    "SELECT a.id, a.code, a.name, a.currency, a.country, " \
    "string_agg(DISTINCT m.role, ',') " \
    "FROM memberships m " \
    "JOIN account_closure c ON c.ancestor_id = m.account_id " \
    "JOIN accounts a ON a.id = c.descendant_id " \
    "WHERE m.user_id = %s::bigint AND (c.depth = 0 OR m.role IN ('approver','account_admin')) " \
    "GROUP BY a.id, a.code, a.name, a.currency, a.country ORDER BY a.code"

/* Whether an account exists and whether it shares a root with any account of
 * the user: decides 404 against 403 without leaking other companies. */
#define SQL_ACCOUNT_SAME_COMPANY \
    "SELECT EXISTS (SELECT 1 FROM account_closure x " \
    "  JOIN accounts root ON root.id = x.ancestor_id AND root.parent_id IS NULL " \
    "  JOIN account_closure y ON y.ancestor_id = root.id " \
    "  JOIN memberships m ON m.account_id = y.descendant_id AND m.user_id = %s::bigint " \
    "  WHERE x.descendant_id = a.id)::text " \
    "FROM accounts a WHERE a.code = %s"

typedef struct cache_entry_t {
    apr_pool_t *pool;
    b2b_identity_t *who;
    apr_time_t expires;
} cache_entry_t;

static apr_thread_mutex_t *cache_mutex;
static apr_hash_t *cache;
static apr_pool_t *cache_pool;
static int cache_ttl;

void b2b_identity_register(void)
{
    b2b_db_prepare("b2b_user", SQL_USER);
    b2b_db_prepare("b2b_user_accounts", SQL_USER_ACCOUNTS);
    b2b_db_prepare("b2b_account_same_company", SQL_ACCOUNT_SAME_COMPANY);
}

void b2b_identity_child_init(apr_pool_t *pchild, server_rec *s)
{
    b2b_server_conf_t *conf = b2b_server_conf(s);
    cache_ttl = conf->identity_ttl == B2B_UNSET ? B2B_DEFAULT_IDENTITY_TTL
                                                : conf->identity_ttl;
    cache_pool = pchild;
    cache = apr_hash_make(pchild);
    if (apr_thread_mutex_create(&cache_mutex, APR_THREAD_MUTEX_DEFAULT,
                                pchild) != APR_SUCCESS) {
        cache_ttl = 0;
    }
}

static b2b_identity_t *identity_copy(apr_pool_t *p, const b2b_identity_t *src)
{
    b2b_identity_t *who = apr_pmemdup(p, src, sizeof(*src));
    int i;
    who->username = apr_pstrdup(p, src->username);
    who->display_name = apr_pstrdup(p, src->display_name);
    who->global_role = apr_pstrdup(p, src->global_role);
    who->home_account = apr_pstrdup(p, src->home_account);
    who->accounts = apr_array_make(p, src->accounts->nelts ? src->accounts->nelts : 1,
                                   sizeof(b2b_account_ref_t));
    for (i = 0; i < src->accounts->nelts; i++) {
        const b2b_account_ref_t *a = &APR_ARRAY_IDX(src->accounts, i,
                                                    b2b_account_ref_t);
        b2b_account_ref_t *c = apr_array_push(who->accounts);
        c->id = a->id;
        c->code = apr_pstrdup(p, a->code);
        c->name = apr_pstrdup(p, a->name);
        c->currency = apr_pstrdup(p, a->currency);
        c->country = apr_pstrdup(p, a->country);
        c->roles = a->roles;
    }
    return who;
}

static b2b_identity_t *cache_get(request_rec *r, const char *user)
{
    cache_entry_t *e;
    b2b_identity_t *who = NULL;
    if (cache_ttl <= 0 || !cache) {
        return NULL;
    }
    apr_thread_mutex_lock(cache_mutex);
    e = apr_hash_get(cache, user, APR_HASH_KEY_STRING);
    if (e && e->expires > r->request_time) {
        who = identity_copy(r->pool, e->who);
    }
    apr_thread_mutex_unlock(cache_mutex);
    return who;
}

static void cache_put(request_rec *r, const b2b_identity_t *who)
{
    cache_entry_t *e;
    apr_pool_t *p;
    if (cache_ttl <= 0 || !cache) {
        return;
    }
    apr_thread_mutex_lock(cache_mutex);
    e = apr_hash_get(cache, who->username, APR_HASH_KEY_STRING);
    if (e) {
        apr_hash_set(cache, who->username, APR_HASH_KEY_STRING, NULL);
        apr_pool_destroy(e->pool);
    }
    /* bounded: a flood of distinct users just restarts the cache */
    if (apr_hash_count(cache) >= 10000) {
        apr_hash_index_t *hi;
        for (hi = apr_hash_first(NULL, cache); hi; hi = apr_hash_next(hi)) {
            cache_entry_t *old = apr_hash_this_val(hi);
            apr_pool_destroy(old->pool);
        }
        apr_hash_clear(cache);
    }
    if (apr_pool_create(&p, cache_pool) == APR_SUCCESS) {
        e = apr_pcalloc(p, sizeof(*e));
        e->pool = p;
        e->who = identity_copy(p, who);
        e->expires = r->request_time + apr_time_from_sec(cache_ttl);
        apr_hash_set(cache, e->who->username, APR_HASH_KEY_STRING, e);
    }
    apr_thread_mutex_unlock(cache_mutex);
}

static unsigned parse_roles(const char *s)
{
    unsigned roles = 0;
    if (!s) {
        return 0;
    }
    if (ap_strstr_c(s, "buyer")) roles |= B2B_ROLE_BUYER;
    if (ap_strstr_c(s, "approver")) roles |= B2B_ROLE_APPROVER;
    if (ap_strstr_c(s, "account_admin")) roles |= B2B_ROLE_ACCOUNT_ADMIN;
    return roles;
}

/* Loads the identity from the database; OK, or an error already answered. */
static int identity_load(request_rec *r, ap_dbd_t *dbd, b2b_identity_t **out)
{
    const char *args[1] = { r->user };
    apr_array_header_t *rows;
    const char **row;
    b2b_identity_t *who;
    int i;

    rows = b2b_db_select(r, dbd, "b2b_user", 1, args, NULL);
    if (!rows) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    if (rows->nelts == 0) {
        /* authenticated by Apache but unknown or disabled here */
        return ANSWERED(b2b_reply_error(r, HTTP_UNAUTHORIZED, "unauthorized",
                               "This user is not active in the portal."));
    }
    row = APR_ARRAY_IDX(rows, 0, const char **);
    who = apr_pcalloc(r->pool, sizeof(*who));
    who->user_id = apr_atoi64(row[0]);
    who->username = row[1];
    who->display_name = row[2];
    who->global_role = row[3];
    who->home_account = row[4];

    args[0] = row[0];
    rows = b2b_db_select(r, dbd, "b2b_user_accounts", 1, args, NULL);
    if (!rows) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    who->accounts = apr_array_make(r->pool, rows->nelts ? rows->nelts : 1,
                                   sizeof(b2b_account_ref_t));
    for (i = 0; i < rows->nelts; i++) {
        const char **ar = APR_ARRAY_IDX(rows, i, const char **);
        b2b_account_ref_t *a = apr_array_push(who->accounts);
        a->id = apr_atoi64(ar[0]);
        a->code = ar[1];
        a->name = ar[2];
        a->currency = ar[3];
        a->country = ar[4];
        a->roles = parse_roles(ar[5]);
    }
    *out = who;
    return OK;
}

const b2b_account_ref_t *b2b_identity_account(const b2b_identity_t *who,
                                              const char *code)
{
    int i;
    for (i = 0; i < who->accounts->nelts; i++) {
        const b2b_account_ref_t *a = &APR_ARRAY_IDX(who->accounts, i,
                                                    b2b_account_ref_t);
        if (!strcmp(a->code, code)) {
            return a;
        }
    }
    return NULL;
}

static int account_code_ok(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++, n++) {
        if (!apr_isalnum(*s) && *s != '-') {
            return 0;
        }
    }
    return n > 0 && n <= 32;
}

/* 403 for an account of the caller's own company, 404 for any other. */
int b2b_account_denied(b2b_req_t *req, const char *code)
{
    request_rec *r = req->r;
    ap_dbd_t *dbd;
    apr_array_header_t *rows;
    const char *args[2];

    if (!account_code_ok(code)) {
        return ANSWERED(b2b_reply_error(r, HTTP_NOT_FOUND, "account_not_found",
                               "No account with that code."));
    }
    dbd = b2b_db(r);
    if (!dbd) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    args[0] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, req->who->user_id);
    args[1] = code;
    rows = b2b_db_select(r, dbd, "b2b_account_same_company", 2, args, NULL);
    if (!rows) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    /* portal operators and the ERP user belong to no company: the
     * account exists for them, they just may not act for it */
    if (rows->nelts == 1
        && (!strcmp(APR_ARRAY_IDX(rows, 0, const char **)[0], "true")
            || *req->who->global_role)) {
        return ANSWERED(b2b_reply_error(r, HTTP_FORBIDDEN, "account_forbidden",
                               "You may not act for account %s.", code));
    }
    return ANSWERED(b2b_reply_error(r, HTTP_NOT_FOUND, "account_not_found",
                           "No account with that code."));
}

int b2b_identity_resolve(b2b_req_t *req, int need_account)
{
    request_rec *r = req->r;
    const char *asked = apr_table_get(r->headers_in, "X-B2B-Account");
    b2b_identity_t *who;

    if (!r->user || !*r->user) {
        return ANSWERED(b2b_reply_error(r, HTTP_UNAUTHORIZED, "unauthorized",
                               "Log in to use the portal API."));
    }
    who = cache_get(r, r->user);
    if (!who) {
        ap_dbd_t *dbd = b2b_db(r);
        int rc;
        if (!dbd) {
            apr_table_setn(r->err_headers_out, "Retry-After", "5");
            return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE,
                                   "database_unavailable",
                                   "The portal database is not answering; "
                                   "try again.");
        }
        rc = identity_load(r, dbd, &who);
        if (rc != OK || !who) {
            return rc;
        }
        cache_put(r, who);
    }
    req->who = who;

    if (asked && *asked) {
        req->acting = b2b_identity_account(who, asked);
        if (!req->acting) {
            return b2b_account_denied(req, asked);
        }
    }
    else if (*who->home_account) {
        req->acting = b2b_identity_account(who, who->home_account);
    }
    if (!req->acting && who->accounts->nelts > 0 && !(asked && *asked)) {
        req->acting = &APR_ARRAY_IDX(who->accounts, 0, b2b_account_ref_t);
    }
    if (need_account && !req->acting) {
        return ANSWERED(b2b_reply_error(r, HTTP_FORBIDDEN, "no_account",
                               "This user does not act for any account."));
    }
    if (req->acting) {
        apr_table_setn(r->headers_out, "X-B2B-Account", req->acting->code);
    }
    return OK;
}

int b2b_is_portal_admin(const b2b_req_t *req)
{
    return req->who && !strcmp(req->who->global_role, "portal_admin");
}
