/*
 * b2b_pricing_load.c: rows from PostgreSQL into an engine input set, through
 * apr_dbd, so the worker (its own connection) and the admin preview (the
 * request's pooled connection) read rules exactly the same way.
 */
#include "b2b_pricing_shell.h"
#include "apr_strings.h"

static b2b_status_t add_row(b2b_input_t *in, b2b_row_kind_t kind,
                            const char *const *v, b2b_input_error_t *e)
{
    switch (kind) {
    case B2B_ROW_CURRENCY: return b2b_input_add_currency_text(in, v, e);
    case B2B_ROW_ACCOUNT:  return b2b_input_add_account_text(in, v, e);
    case B2B_ROW_PRODUCT:  return b2b_input_add_product_text(in, v, e);
    case B2B_ROW_RULE:     return b2b_input_add_rule_text(in, v, e);
    }
    return B2B_ERR_BAD_ARGUMENT;
}

static int columns_of(b2b_row_kind_t kind)
{
    switch (kind) {
    case B2B_ROW_CURRENCY: return B2B_CURRENCY_COL_COUNT;
    case B2B_ROW_ACCOUNT:  return B2B_ACCOUNT_COL_COUNT;
    case B2B_ROW_PRODUCT:  return B2B_PRODUCT_COL_COUNT;
    case B2B_ROW_RULE:     return B2B_RULE_COL_COUNT;
    }
    return 0;
}

int b2b_pricing_load(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                     apr_pool_t *p, const char *sql, apr_dbd_prepared_t *st,
                     int nargs, const char **args, b2b_input_t *in,
                     b2b_row_kind_t kind, char *why, apr_size_t whylen)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *vals[B2B_RULE_COL_COUNT];
    int ncols = columns_of(kind), refused = 0, i, rv;
    apr_pool_t *rowpool;

    why[0] = '\0';
    rv = st ? apr_dbd_pselect(driver, p, handle, &res, st, 0, nargs, args)
            : apr_dbd_select(driver, p, handle, &res, sql, 0);
    if (rv) {
        apr_snprintf(why, whylen, "reading rows failed: %s",
                     apr_dbd_error(driver, handle, rv));
        return -1;
    }
    /* rows of a million-rule load must not pile up in p */
    apr_pool_create(&rowpool, p);
    while ((rv = apr_dbd_get_row(driver, rowpool, res, &row, -1)) == 0) {
        b2b_input_error_t err;
        b2b_status_t s;
        for (i = 0; i < ncols; i++) {
            /* the pgsql driver hands SQL NULL out as "": no column we read
             * may legitimately be empty, so "" means NULL to the engine */
            const char *v = apr_dbd_get_entry(driver, row, i);
            vals[i] = v && *v ? v : NULL;
        }
        memset(&err, 0, sizeof(err));
        s = add_row(in, kind, vals, &err);
        if (s != B2B_OK && refused++ == 0) {
            apr_snprintf(why, whylen, "%s (column %s: %s)", b2b_status_name(s),
                         err.column ? err.column : "?", err.message);
        }
        apr_pool_clear(rowpool);
    }
    apr_pool_destroy(rowpool);
    if (rv != -1) {
        apr_snprintf(why, whylen, "reading rows failed: %s",
                     apr_dbd_error(driver, handle, rv));
        return -1;
    }
    return refused;
}

int b2b_pricing_load_all(const apr_dbd_driver_t *driver, apr_dbd_t *handle,
                         apr_pool_t *p, b2b_input_t *in, char *why, apr_size_t whylen)
{
    static const struct { const char *sql; b2b_row_kind_t kind; } parts[] = {
        { B2B_SQL_CURRENCIES, B2B_ROW_CURRENCY },
        { B2B_SQL_ACCOUNTS, B2B_ROW_ACCOUNT },
        { B2B_SQL_PRODUCTS, B2B_ROW_PRODUCT },
        { B2B_SQL_RULES_ALL, B2B_ROW_RULE }
    };
    apr_size_t i;
    int refused = 0;
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        int n = b2b_pricing_load(driver, handle, p, parts[i].sql, NULL, 0, NULL,
                                 in, parts[i].kind, why, whylen);
        if (n < 0) {
            return -1;
        }
        refused += n;
    }
    return refused;
}
