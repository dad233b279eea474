/*
 * b2b_erp_apache.c: the ERP integration's place in mod_b2bportal: the
 * B2BErp* settings with their defaults, the worker tasks, the endpoints and
 * the "erp" section of GET /admin/status.
 */
#include "b2b_erp_shell.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(b2bportal);

void b2b_erp_settings(server_rec *s, b2b_erp_settings_t *out)
{
    b2b_server_conf_t *c = b2b_server_conf(s);
    int min_lease;
#define OR_DEFAULT(v, d) ((v) != B2B_UNSET ? (v) : (d))
    out->adapter = c->erp_adapter ? c->erp_adapter : B2B_ERP_DEFAULT_ADAPTER;
    out->url = c->erp_url;
    out->drain = c->erp_drain != 0;
    out->threads = OR_DEFAULT(c->erp_threads, B2B_ERP_DEFAULT_THREADS);
    out->retry_max = OR_DEFAULT(c->erp_retry_max, B2B_ERP_DEFAULT_RETRY_MAX);
    out->retry_base_ms = OR_DEFAULT(c->erp_retry_base, B2B_ERP_DEFAULT_RETRY_BASE_MS);
    out->retry_cap_ms = OR_DEFAULT(c->erp_retry_cap, B2B_ERP_DEFAULT_RETRY_CAP_MS);
    out->lease_s = OR_DEFAULT(c->erp_lease, B2B_ERP_DEFAULT_LEASE_S);
    out->timeout_ms = OR_DEFAULT(c->erp_timeout, B2B_ERP_DEFAULT_CALL_MS);
    out->stock_interval_s = OR_DEFAULT(c->erp_stock_interval,
                                       B2B_ERP_DEFAULT_STOCK_INTERVAL);
#undef OR_DEFAULT
    if (out->retry_cap_ms < out->retry_base_ms) {
        out->retry_cap_ms = out->retry_base_ms;
    }
    /* A lease shorter than one call would let another node deliver an order
     * whose first delivery is still under way. */
    min_lease = out->timeout_ms / 1000 + 5;
    if (out->lease_s < min_lease) {
        out->lease_s = min_lease;
    }
}

/* ---- GET /admin/status: "erp" ------------------------------------------------ */

#define SQL_STATUS \
    "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending')::text, " \
    "(SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= now())::text, " \
    "(SELECT count(*) FROM outbox WHERE state = 'in_flight')::text, " \
    "(SELECT count(*) FROM outbox WHERE state = 'dead')::text, " \
    "coalesce((SELECT floor(extract(epoch FROM now() - min(created_at)) * 1000)::bigint " \
    "  FROM outbox WHERE state IN ('pending', 'in_flight'))::text, ''), " \
    "(SELECT count(*) FROM erp_attempts WHERE at > now() - interval '60 seconds' " \
    "  AND outcome IN ('delivered', 'duplicate'))::text, " \
    "(SELECT count(*) FROM erp_attempts WHERE at > now() - interval '60 seconds' " \
    "  AND outcome IN ('retryable', 'permanent'))::text, " \
    "coalesce(" B2B_ERP_TS("y.last_pull_ok_at") ", ''), coalesce(y.last_error, ''), " \
    "y.last_pull_items::text, (SELECT install_id FROM erp_install WHERE id = 1) " \
    "FROM erp_sync y WHERE y.id = 1"

static json_t *opt_text(const char *v)
{
    return v && *v ? json_string(v) : json_null();
}

static json_t *erp_status(b2b_req_t *req)
{
    b2b_erp_settings_t st;
    ap_dbd_t *dbd = b2b_db(req->r);
    apr_array_header_t *rows = dbd ? b2b_db_select(req->r, dbd, "b2b_erp_status", 0,
                                                   NULL, NULL) : NULL;
    json_t *out;

    b2b_erp_settings(req->r->server, &st);
    out = json_pack("{s:s,s:o,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
                    "adapter", st.adapter, "url", opt_text(st.url),
                    "threads", st.threads, "retry_max", st.retry_max,
                    "retry_base_ms", st.retry_base_ms, "retry_cap_ms", st.retry_cap_ms,
                    "lease_s", st.lease_s, "timeout_ms", st.timeout_ms,
                    "stock_interval_s", st.stock_interval_s);
    json_object_set_new(out, "draining", json_boolean(st.url != NULL && st.drain));
    if (rows && rows->nelts == 1) {
        const char **r = APR_ARRAY_IDX(rows, 0, const char **);
        json_object_set_new(out, "queue", json_pack("{s:I,s:I,s:I,s:I,s:o}",
            "pending", (json_int_t)apr_atoi64(r[0]),
            "due", (json_int_t)apr_atoi64(r[1]),
            "in_flight", (json_int_t)apr_atoi64(r[2]),
            "dead", (json_int_t)apr_atoi64(r[3]),
            "oldest_open_ms", *r[4] ? json_integer((json_int_t)apr_atoi64(r[4]))
                                    : json_null()));
        json_object_set_new(out, "last_minute", json_pack("{s:I,s:I}",
            "delivered", (json_int_t)apr_atoi64(r[5]),
            "failed_attempts", (json_int_t)apr_atoi64(r[6])));
        json_object_set_new(out, "stock_pull", json_pack("{s:o,s:I,s:o}",
            "last_ok_at", opt_text(r[7]), "items", (json_int_t)apr_atoi64(r[9]),
            "last_error", opt_text(r[8])));
        json_object_set_new(out, "install_id", opt_text(r[10]));
    }
    else {
        json_object_set_new(out, "queue", json_null());
    }
    return out;
}

/* ---- registration (pre_config) -------------------------------------------------- */

void b2b_erp_register(void)
{
    b2b_db_prepare("b2b_erp_status", SQL_STATUS);
    b2b_status_add("erp", erp_status);
    b2b_erp_endpoints_register();
    /* Both tasks look at the settings when they start: without B2BErpURL
     * they only beat. */
    b2b_worker_task_add("erp-queue", b2b_erp_queue_task, NULL);
    b2b_worker_task_add("erp-stock", b2b_erp_stock_task, NULL);
}
