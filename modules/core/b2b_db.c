/*
 * b2b_db.c: prepared statements through mod_dbd. Every statement with
 * outside data is prepared at configuration time and looked up by label;
 * results are always read through to the end so the pooled connection is
 * free for the next request.
 */
#include "b2b_core.h"
#include "apr_optional.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

typedef struct stmt_def_t {
    const char *label;
    const char *sql;
} stmt_def_t;

static apr_array_header_t *stmt_defs;   /* in pconf, rebuilt each restart */
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *dbd_prepare;

void b2b_db_reset(apr_pool_t *pconf)
{
    stmt_defs = apr_array_make(pconf, 64, sizeof(stmt_def_t));
}

void b2b_db_prepare(const char *label, const char *sql)
{
    stmt_def_t *d = apr_array_push(stmt_defs);
    d->label = label;
    d->sql = sql;
}

void b2b_db_register_all(server_rec *s)
{
    server_rec *sp;
    int i;

    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    if (!dbd_acquire || !dbd_prepare) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, B2BLOG(00101)
                     "mod_dbd is not loaded: add 'LoadModule dbd_module' "
                     "before mod_b2bportal; the API answers 503 until then");
        return;
    }
    for (sp = s; sp; sp = sp->next) {
        for (i = 0; i < stmt_defs->nelts; i++) {
            const stmt_def_t *d = &APR_ARRAY_IDX(stmt_defs, i, stmt_def_t);
            dbd_prepare(sp, d->sql, d->label);
        }
    }
}

ap_dbd_t *b2b_db(request_rec *r)
{
    ap_dbd_t *dbd = dbd_acquire ? dbd_acquire(r) : NULL;
    if (!dbd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(00102)
                      "no database connection: check DBDParams and that "
                      "PostgreSQL is up (mod_dbd logs the cause)");
    }
    return dbd;
}

apr_dbd_prepared_t *b2b_db_stmt(request_rec *r, ap_dbd_t *dbd, const char *label)
{
    apr_dbd_prepared_t *st = apr_hash_get(dbd->prepared, label,
                                          APR_HASH_KEY_STRING);
    if (!st) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(00103)
                      "prepared statement %s is missing: mod_dbd could not "
                      "prepare it (schema not migrated?); see earlier errors",
                      label);
    }
    return st;
}

apr_array_header_t *b2b_db_select(request_rec *r, ap_dbd_t *dbd,
                                  const char *label, int nargs,
                                  const char **args, int *ncols)
{
    apr_dbd_prepared_t *st = b2b_db_stmt(r, dbd, label);
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *rows;
    int rv, cols, i;

    if (!st) {
        return NULL;
    }
    /* buffered (random=1): a streamed result makes the pgsql driver sleep
     * 100 ms on an empty answer and report a failed statement as no rows */
    rv = apr_dbd_pselect(dbd->driver, r->pool, dbd->handle, &res, st, 1,
                         nargs, args);
    if (rv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(00104)
                      "query %s failed: %s", label,
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return NULL;
    }
    rows = apr_array_make(r->pool, 8, sizeof(const char **));
    cols = -1;
    while (apr_dbd_get_row(dbd->driver, r->pool, res, &row, -1) == 0) {
        const char **vals;
        if (cols < 0) {
            /* a streamed (random=0) result knows its columns only once the
             * first row has arrived */
            cols = apr_dbd_num_cols(dbd->driver, res);
        }
        vals = apr_palloc(r->pool, sizeof(char *) * (cols > 0 ? cols : 1));
        for (i = 0; i < cols; i++) {
            const char *v = apr_dbd_get_entry(dbd->driver, row, i);
            vals[i] = v ? apr_pstrdup(r->pool, v) : NULL;
        }
        APR_ARRAY_PUSH(rows, const char **) = vals;
    }
    if (ncols) {
        *ncols = cols < 0 ? apr_dbd_num_cols(dbd->driver, res) : cols;
    }
    return rows;
}

int b2b_db_exec(request_rec *r, ap_dbd_t *dbd, const char *label,
                int nargs, const char **args)
{
    apr_dbd_prepared_t *st = b2b_db_stmt(r, dbd, label);
    int nrows = 0, rv;
    if (!st) {
        return -1;
    }
    rv = apr_dbd_pquery(dbd->driver, r->pool, dbd->handle, &nrows, st, nargs,
                        args);
    if (rv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, B2BLOG(00105)
                      "statement %s failed: %s", label,
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return -1;
    }
    return nrows;
}
