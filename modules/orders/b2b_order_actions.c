/*
 * b2b_order_actions.c: POST /orders/{id}/approve, /reject and /cancel.
 *
 * Each action is an event of the state machine (b2b_order_state.c), applied
 * in one transaction under the order's row lock, so two racing actions on
 * one order cannot both win: the loser sees the new status and gets a 409.
 *
 *   approve  an approver of the order's account or an ancestor, not the
 *            buyer who placed it; the order enters the ERP queue (outbox)
 *   reject   the same approvers; stock reservations and the credit charge
 *            are given back
 *   cancel   the buyer who placed it, an approver or account admin over its
 *            account, or a portal operator; only before the ERP has it
 *            (pending_approval, queued while its outbox row is not yet
 *            claimed by the worker, failed); gives back stock and credit
 *
 * An optional JSON body {"reason": "..."} is kept in the history.
 */
#include "b2b_orders.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

/* Taking the outbox row first (before the order row) keeps the lock order
 * of the worker, which claims outbox rows and then updates their orders. */
#define SQL_DEQUEUE \
    "DELETE FROM outbox WHERE order_id = %s::bigint AND state IN ('pending', 'dead') " \
    "RETURNING state"

#define SQL_LOCK_ORDER \
    "SELECT status, account_id, user_id FROM orders WHERE id = %s::bigint FOR UPDATE"

#define SQL_SET_STATUS \
    "WITH u AS (UPDATE orders SET status = %s WHERE id = %s::bigint RETURNING id, status) " \
    "INSERT INTO order_history (order_id, status, actor_user_id, note) " \
    "SELECT u.id, u.status, %s::bigint, nullif(%s, '') FROM u RETURNING id"

/* Gives back what checkout took: reserved units (rows locked in product
 * order, as checkout does) and the credit charge. */
#define SQL_RELEASE \
    "WITH p AS (SELECT %s::bigint AS order_id), " \
    "rel AS (SELECT l.product_id, sum(l.reserved_qty) AS qty FROM order_lines l, p " \
    "  WHERE l.order_id = p.order_id AND l.reserved_qty > 0 GROUP BY l.product_id), " \
    "locked AS (SELECT s.product_id FROM stock s JOIN rel ON rel.product_id = s.product_id " \
    "  ORDER BY s.product_id FOR UPDATE OF s), " \
    "st AS (UPDATE stock s SET reserved = GREATEST(s.reserved - rel.qty, 0) " \
    "  FROM rel, locked l WHERE s.product_id = rel.product_id " \
    "  AND l.product_id = rel.product_id RETURNING s.product_id), " \
    "cr AS (UPDATE accounts a SET credit_used_minor = " \
    "  GREATEST(a.credit_used_minor - o.credit_minor, 0) FROM orders o, p " \
    "  WHERE o.id = p.order_id AND a.id = o.credit_account_id AND o.credit_minor > 0 " \
    "  RETURNING a.id) " \
    "SELECT (SELECT count(*) FROM st), (SELECT count(*) FROM cr)"

#define SQL_ENQUEUE \
    "INSERT INTO outbox (order_id) VALUES (%s::bigint) ON CONFLICT (order_id) DO NOTHING " \
    "RETURNING id"

typedef struct action_t {
    b2b_order_event_t event;
    const char *verb;            /* for messages: "approved" */
} action_t;

static const action_t approve_action = { B2B_EVENT_APPROVE, "approved" };
static const action_t reject_action = { B2B_EVENT_REJECT, "rejected" };
static const action_t cancel_action = { B2B_EVENT_CANCEL, "cancelled" };

/* Optional {"reason": "..."}: NULL if absent; *bad for anything else. */
static const char *read_reason(b2b_req_t *req, int *bad)
{
    json_t *body, *v;
    json_error_t jerr;
    const char *ct = apr_table_get(req->r->headers_in, "Content-Type");
    const char *reason;
    *bad = 0;
    if (!req->raw_len) {
        return NULL;
    }
    if (!ct || strncasecmp(ct, "application/json", 16)) {
        *bad = HTTP_UNSUPPORTED_MEDIA_TYPE;
        return NULL;
    }
    body = json_loadb(req->raw_body, req->raw_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        *bad = HTTP_BAD_REQUEST;
        return NULL;
    }
    b2b_json_pool_own(req->r->pool, body);
    if (!json_is_object(body)) {
        *bad = HTTP_UNPROCESSABLE_ENTITY;
        return NULL;
    }
    v = json_object_get(body, "reason");
    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)
        || json_string_length(v) > 2000) {
        *bad = HTTP_UNPROCESSABLE_ENTITY;
        return NULL;
    }
    reason = json_string_value(v);
    return *reason ? reason : NULL;
}

static int illegal(request_rec *r, apr_int64_t id, const char *status,
                   b2b_order_event_t event)
{
    return b2b_orders_error_details(r, HTTP_CONFLICT, "illegal_transition",
               json_pack("{s:s,s:s}", "status", status, "action", b2b_order_event_name(event)),
               "Order %" APR_INT64_T_FMT " is %s; it cannot be %s.", id, status,
               event == B2B_EVENT_APPROVE ? "approved"
               : event == B2B_EVENT_REJECT ? "rejected" : "cancelled");
}

static int run_action(b2b_req_t *req, const action_t *action)
{
    request_rec *r = req->r;
    apr_int64_t id = b2b_parse_id(req->params[0]);
    const char *reason, *args[4], *ida, *status;
    b2b_order_status_t from, to;
    apr_array_header_t *rows;
    const b2b_account_ref_t *acct;
    apr_int64_t account_id, owner;
    ap_dbd_t *dbd;
    b2b_tx_t tx;
    int bad, dequeued = 0, rc = 0;
    json_t *out;

    if (!req->acting && !b2b_is_portal_admin(req)) {
        return b2b_reply_error(r, HTTP_FORBIDDEN, "no_account",
                               "This user does not act for any account.");
    }
    if (!id) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "order_not_found", "No such order.");
    }
    reason = read_reason(req, &bad);
    if (bad) {
        return b2b_reply_error(r, bad, bad == HTTP_UNSUPPORTED_MEDIA_TYPE
                               ? "unsupported_media_type" : "bad_body",
                               "The body is optional; if sent, it is JSON "
                               "{\"reason\": \"...\"} (at most 2000 characters).");
    }
    if (!(dbd = b2b_db(r))) {
        return b2b_orders_db_unavailable(r);
    }
    ida = b2b_i64(r->pool, id);
    if (b2b_tx_begin(&tx, r, dbd) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
#define ABORT_WITH(reply) do { b2b_tx_fail(&tx); b2b_tx_end(&tx); return (reply); } while (0)

    args[0] = ida;
    if (action->event == B2B_EVENT_CANCEL) {
        if (!(rows = b2b_orders_select(r, dbd, "b2b_order_dequeue", 1, args))) {
            ABORT_WITH(b2b_orders_db_unavailable(r));
        }
        dequeued = rows->nelts > 0;
    }
    if (!(rows = b2b_orders_select(r, dbd, "b2b_order_lock", 1, args))) {
        ABORT_WITH(b2b_orders_db_unavailable(r));
    }
    if (rows->nelts == 0) {
        ABORT_WITH(b2b_reply_error(r, HTTP_NOT_FOUND, "order_not_found", "No such order."));
    }
    status = APR_ARRAY_IDX(rows, 0, const char **)[0];
    account_id = apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[1]);
    owner = apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[2]);
    if (!b2b_order_visible(req, account_id)) {
        ABORT_WITH(b2b_reply_error(r, HTTP_NOT_FOUND, "order_not_found", "No such order."));
    }

    /* who may do it */
    acct = b2b_identity_account_by_id(req->who, account_id);
    if (action->event == B2B_EVENT_CANCEL) {
        if (!b2b_is_portal_admin(req) && owner != req->who->user_id
            && !(acct && (acct->roles & (B2B_ROLE_APPROVER | B2B_ROLE_ACCOUNT_ADMIN)))) {
            ABORT_WITH(b2b_reply_error(r, HTTP_FORBIDDEN, "forbidden",
                       "Only the buyer who placed the order, an approver or an account "
                       "admin may cancel it."));
        }
    }
    else {
        if (!acct || !(acct->roles & B2B_ROLE_APPROVER)) {
            ABORT_WITH(b2b_reply_error(r, HTTP_FORBIDDEN, "not_an_approver",
                       "Only an approver of the order's account or of an account above "
                       "it may do this."));
        }
        if (owner == req->who->user_id) {
            ABORT_WITH(b2b_reply_error(r, HTTP_FORBIDDEN, "own_order",
                       "An approver may not approve or reject their own order."));
        }
    }

    /* what the state machine allows */
    from = b2b_order_status_parse(status);
    to = b2b_order_next(from, action->event);
    if (to == B2B_ORDER_INVALID) {
        ABORT_WITH(illegal(r, id, status, action->event));
    }
    if (action->event == B2B_EVENT_CANCEL && from == B2B_ORDER_QUEUED && !dequeued) {
        ABORT_WITH(b2b_orders_error_details(r, HTTP_CONFLICT, "order_in_transmission",
                   json_pack("{s:s}", "status", status),
                   "Order %" APR_INT64_T_FMT " is being sent to the ERP; it can no "
                   "longer be cancelled here.", id));
    }

    args[0] = b2b_order_status_name(to);
    args[1] = ida;
    args[2] = b2b_i64(r->pool, req->who->user_id);
    args[3] = reason ? reason : action->verb;
    rows = b2b_orders_select(r, dbd, "b2b_order_set_status", 4, args);
    if (!rows || rows->nelts != 1) {
        ABORT_WITH(b2b_orders_db_unavailable(r));
    }
    args[0] = ida;
    if (b2b_order_event_releases(action->event)) {
        if (!b2b_orders_select(r, dbd, "b2b_order_release", 1, args)) {
            ABORT_WITH(b2b_orders_db_unavailable(r));
        }
    }
    if (action->event == B2B_EVENT_APPROVE) {
        if (!b2b_orders_select(r, dbd, "b2b_order_enqueue", 1, args)) {
            ABORT_WITH(b2b_orders_db_unavailable(r));
        }
    }
#undef ABORT_WITH
    if (b2b_tx_end(&tx) != APR_SUCCESS) {
        return b2b_orders_db_unavailable(r);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, B2BLOG(05101)
                  "order %" APR_INT64_T_FMT " %s by %s (%s -> %s)", id, action->verb,
                  req->who->username, status, b2b_order_status_name(to));
    out = b2b_order_detail(req, dbd, id, 0, &rc);
    if (!out) {
        return b2b_orders_db_unavailable(r);
    }
    return b2b_reply_json(r, HTTP_OK, out);
}

static int handle_approve(b2b_req_t *req)
{
    return run_action(req, &approve_action);
}

static int handle_reject(b2b_req_t *req)
{
    return run_action(req, &reject_action);
}

static int handle_cancel(b2b_req_t *req)
{
    return run_action(req, &cancel_action);
}

void b2b_order_actions_routes(void)
{
    /* build the state machine's tables before any thread runs */
    (void)b2b_order_event_sources(B2B_EVENT_APPROVE);
    b2b_db_prepare("b2b_order_dequeue", SQL_DEQUEUE);
    b2b_db_prepare("b2b_order_lock", SQL_LOCK_ORDER);
    b2b_db_prepare("b2b_order_set_status", SQL_SET_STATUS);
    b2b_db_prepare("b2b_order_release", SQL_RELEASE);
    b2b_db_prepare("b2b_order_enqueue", SQL_ENQUEUE);
    b2b_route_add("POST", "/orders/{id}/approve", handle_approve,
                  B2B_ROUTE_RAW_BODY | B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("POST", "/orders/{id}/reject", handle_reject,
                  B2B_ROUTE_RAW_BODY | B2B_ROUTE_NO_ACCOUNT);
    b2b_route_add("POST", "/orders/{id}/cancel", handle_cancel,
                  B2B_ROUTE_RAW_BODY | B2B_ROUTE_NO_ACCOUNT);
}
