/*
 * b2b_authn.c: the "b2b" authentication provider, a cache in front of
 * mod_authn_dbd.
 *
 * bcrypt costs tens of milliseconds of CPU by design, and mod_authn_socache
 * only caches the stored hash: every request would still run bcrypt. Here a
 * successful check is remembered per process as a salted SHA-1 of the
 * password (the salt is random per process and never leaves it), so the
 * next request of that user with the same password costs microseconds. A
 * wrong password never matches the cached digest and goes to the database.
 *
 *   AuthBasicProvider b2b
 *   B2BAuthCacheTTL 300
 */
#include "b2b_core.h"
#include "mod_auth.h"
#include "http_request.h"
#include "ap_provider.h"
#include "apr_sha1.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

APLOG_USE_MODULE(b2bportal);

#define CACHE_MAX_USERS 20000

typedef struct auth_entry_t {
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_time_t expires;
} auth_entry_t;

static apr_thread_mutex_t *auth_mutex;
static apr_pool_t *auth_parent;
static apr_pool_t *auth_pool;        /* entries; cleared whole when full */
static apr_hash_t *auth_cache;
static unsigned char auth_salt[32];
static int auth_ttl;

void b2b_authn_child_init(apr_pool_t *pchild, server_rec *s)
{
    b2b_server_conf_t *conf = b2b_server_conf(s);
    auth_ttl = conf->auth_ttl == B2B_UNSET ? B2B_DEFAULT_AUTH_TTL : conf->auth_ttl;
    auth_parent = pchild;
    if (apr_generate_random_bytes(auth_salt, sizeof(auth_salt)) != APR_SUCCESS
        || apr_thread_mutex_create(&auth_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)
           != APR_SUCCESS
        || apr_pool_create(&auth_pool, pchild) != APR_SUCCESS) {
        auth_ttl = 0;     /* no cache: every check goes to the database */
        return;
    }
    auth_cache = apr_hash_make(auth_pool);
}

static void digest_of(const char *user, const char *password,
                      unsigned char out[APR_SHA1_DIGESTSIZE])
{
    apr_sha1_ctx_t ctx;
    apr_sha1_init(&ctx);
    apr_sha1_update_binary(&ctx, auth_salt, sizeof(auth_salt));
    apr_sha1_update(&ctx, user, (unsigned int)strlen(user) + 1);
    apr_sha1_update(&ctx, password, (unsigned int)strlen(password));
    apr_sha1_final(out, &ctx);
}

static const authn_provider *dbd_provider(void)
{
    return ap_lookup_provider(AUTHN_PROVIDER_GROUP, "dbd", AUTHN_PROVIDER_VERSION);
}

static authn_status check_password(request_rec *r, const char *user,
                                   const char *password)
{
    const authn_provider *dbd = dbd_provider();
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    authn_status st;

    if (!dbd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(00110)
                      "AuthBasicProvider b2b needs mod_authn_dbd: LoadModule "
                      "authn_dbd_module and set AuthDBDUserPWQuery");
        return AUTH_GENERAL_ERROR;
    }
    if (auth_ttl > 0 && auth_cache) {
        auth_entry_t *e;
        int hit = 0;
        digest_of(user, password, digest);
        apr_thread_mutex_lock(auth_mutex);
        e = apr_hash_get(auth_cache, user, APR_HASH_KEY_STRING);
        if (e && e->expires > r->request_time
            && !memcmp(e->digest, digest, sizeof(digest))) {
            hit = 1;
        }
        apr_thread_mutex_unlock(auth_mutex);
        if (hit) {
            return AUTH_GRANTED;
        }
    }
    st = dbd->check_password(r, user, password);
    if (st == AUTH_GRANTED && auth_ttl > 0 && auth_cache) {
        auth_entry_t *e;
        apr_thread_mutex_lock(auth_mutex);
        if (apr_hash_count(auth_cache) >= CACHE_MAX_USERS) {
            apr_pool_clear(auth_pool);
            auth_cache = apr_hash_make(auth_pool);
        }
        e = apr_hash_get(auth_cache, user, APR_HASH_KEY_STRING);
        if (!e) {
            e = apr_palloc(auth_pool, sizeof(*e));
            apr_hash_set(auth_cache, apr_pstrdup(auth_pool, user),
                         APR_HASH_KEY_STRING, e);
        }
        memcpy(e->digest, digest, sizeof(digest));
        e->expires = r->request_time + apr_time_from_sec(auth_ttl);
        apr_thread_mutex_unlock(auth_mutex);
    }
    else if (st == AUTH_DENIED && auth_cache) {
        /* a changed password invalidates what we remembered */
        apr_thread_mutex_lock(auth_mutex);
        apr_hash_set(auth_cache, user, APR_HASH_KEY_STRING, NULL);
        apr_thread_mutex_unlock(auth_mutex);
    }
    return st;
}

static const authn_provider b2b_authn_provider = {
    &check_password,
    NULL
};

void b2b_authn_register(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHN_PROVIDER_GROUP, "b2b",
                              AUTHN_PROVIDER_VERSION, &b2b_authn_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
