/*
 * b2b_account.c: GET /me and GET /accounts/{code}: the caller, the accounts
 * they may act for, and one account with its parent and children as far as
 * the caller may see them.
 */
#include "b2b_core.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define SQL_ACCOUNT \
    "SELECT a.code, a.name, a.currency, a.country, coalesce(a.region, ''), " \
    "coalesce(p.code, ''), coalesce(p.name, ''), a.is_invoicing::text, " \
    "coalesce(round(a.credit_limit_minor / power(10::numeric, cur.minor_digits), " \
    "cur.minor_digits)::text, ''), " \
    "round(a.credit_used_minor / power(10::numeric, cur.minor_digits), " \
    "cur.minor_digits)::text, " \
    "coalesce(pl.code, '') " \
    "FROM accounts a LEFT JOIN accounts p ON p.id = a.parent_id " \
    "LEFT JOIN price_lists pl ON pl.id = a.price_list_id " \
    "JOIN currencies cur ON cur.code = a.currency " \
    "WHERE a.code = %s"

#define SQL_ACCOUNT_CHILDREN \
    "SELECT c.code, c.name FROM accounts c JOIN accounts a ON c.parent_id = a.id " \
    "WHERE a.code = %s ORDER BY c.code"

static json_t *roles_json(unsigned roles)
{
    json_t *arr = json_array();
    if (roles & B2B_ROLE_BUYER) json_array_append_new(arr, json_string("buyer"));
    if (roles & B2B_ROLE_APPROVER) json_array_append_new(arr, json_string("approver"));
    if (roles & B2B_ROLE_ACCOUNT_ADMIN)
        json_array_append_new(arr, json_string("account_admin"));
    return arr;
}

static json_t *account_ref_json(const b2b_account_ref_t *a)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "code", a->code, "name", a->name,
                     "currency", a->currency, "country", a->country,
                     "roles", roles_json(a->roles));
}

static int handle_me(b2b_req_t *req)
{
    const b2b_identity_t *who = req->who;
    json_t *accounts = json_array(), *roles = json_array(), *out;
    int i;

    for (i = 0; i < who->accounts->nelts; i++) {
        json_array_append_new(accounts, account_ref_json(
            &APR_ARRAY_IDX(who->accounts, i, b2b_account_ref_t)));
    }
    if (*who->global_role) {
        json_array_append_new(roles, json_string(who->global_role));
    }
    if (req->acting) {
        json_array_extend(roles, roles_json(req->acting->roles));
    }
    out = json_pack("{s:{s:s,s:s},s:o,s:o,s:o,s:s?}",
                    "user", "username", who->username,
                    "display_name", who->display_name,
                    "roles", roles,
                    "acting_account", req->acting ? account_ref_json(req->acting)
                                                  : json_null(),
                    "accounts", accounts,
                    "home_account", *who->home_account ? who->home_account : NULL);
    return b2b_reply_json(req->r, HTTP_OK, out);
}

static int visible(const b2b_req_t *req, const char *code)
{
    return b2b_is_portal_admin(req) || b2b_identity_account(req->who, code);
}

static int handle_account(b2b_req_t *req)
{
    request_rec *r = req->r;
    const char *code = req->params[0];
    const char *args[1] = { code };
    apr_array_header_t *rows, *kids;
    const char **a;
    ap_dbd_t *dbd;
    json_t *children, *out, *parent = json_null();
    int i;

    if (!visible(req, code)) {
        return b2b_account_denied(req, code);
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    rows = b2b_db_select(r, dbd, "b2b_account", 1, args, NULL);
    kids = rows ? b2b_db_select(r, dbd, "b2b_account_children", 1, args, NULL)
                : NULL;
    if (!rows || !kids) {
        return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                               "The portal database is not answering; try again.");
    }
    if (rows->nelts == 0) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "account_not_found",
                               "No account with that code.");
    }
    a = APR_ARRAY_IDX(rows, 0, const char **);
    if (*a[5] && visible(req, a[5])) {
        parent = json_pack("{s:s,s:s}", "code", a[5], "name", a[6]);
    }
    children = json_array();
    for (i = 0; i < kids->nelts; i++) {
        const char **k = APR_ARRAY_IDX(kids, i, const char **);
        if (visible(req, k[0])) {
            json_array_append_new(children,
                                  json_pack("{s:s,s:s}", "code", k[0], "name", k[1]));
        }
    }
    out = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:o,s:o,s:b,s:s?,s:o}",
                    "code", a[0], "name", a[1], "currency", a[2],
                    "country", a[3], "region", *a[4] ? a[4] : NULL,
                    "parent", parent, "children", children,
                    "invoicing", !strcmp(a[7], "true"),
                    "price_list", *a[10] ? a[10] : NULL,
                    "credit", *a[8]
                        ? json_pack("{s:{s:s,s:s},s:{s:s,s:s}}",
                                    "limit", "amount", a[8], "currency", a[2],
                                    "used", "amount", a[9], "currency", a[2])
                        : json_null());
    return b2b_reply_json(r, HTTP_OK, out);
}

void b2b_account_register(void)
{
    b2b_db_prepare("b2b_account", SQL_ACCOUNT);
    b2b_db_prepare("b2b_account_children", SQL_ACCOUNT_CHILDREN);
    b2b_route_add("GET", "/me", handle_me, B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("GET", "/accounts/{code}", handle_account, B2B_ROUTE_NO_ACCOUNT);
}
