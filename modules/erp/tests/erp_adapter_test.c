/* erp_adapter_test.c — the HTTP ERP adapter against a running simulator
 * (tools/erp-sim), whose base URL comes from B2B_ERP_URL; without it the program
 * reports a single TAP skip. Prints TAP; exits non-zero on any failure.
 *
 * Every order key starts with a prefix unique to this run, and every failure mode is
 * scoped to that prefix (the simulator's key_prefix), so a portal worker delivering to
 * the same simulator meanwhile is not disturbed. The simulator is not reset. */
#include "b2b_erp.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int ran, failed;
static const char *base_url;
static char prefix[64];

static int ok(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    ran++;
    if (!cond)
        failed++;
    printf("%sok %d - ", cond ? "" : "not ", ran);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static void diag_result(const b2b_erp_result_t *r)
{
    printf("#   outcome=%s http=%d dup=%d retry_after_ms=%ld erp_ref='%s' status='%s' error='%s'\n",
           b2b_erp_outcome_name(r->outcome), r->http_status, r->duplicate, r->retry_after_ms,
           r->erp_ref, r->erp_status, r->error);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- talking to the simulator's control API (its own curl handle) ---- */
typedef struct { char *data; size_t len; } buf_t;

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    buf_t *b = u;
    char *q = realloc(b->data, b->len + size * n + 1);
    if (q == NULL)
        return 0;
    b->data = q;
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* Returns the HTTP status (0 on transport failure); *json gets the parsed answer. */
static long sim(const char *method, const char *path, const char *body, json_t **json)
{
    CURL *c = curl_easy_init();
    buf_t b = { NULL, 0 };
    long status = 0;
    char url[1024];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(url, sizeof url, "%s%s", base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (json != NULL)
        *json = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static int set_mode(const char *mode_json_fields)
{
    char body[512];
    snprintf(body, sizeof body, "{\"key_prefix\":\"%s\",%s}", prefix, mode_json_fields);
    return sim("POST", "/_sim/mode", body, NULL) == 200;
}

/* The simulator's record of one key (NULL if it has none); caller decrefs. */
static json_t *sim_order(const char *key)
{
    char path[512];
    json_t *doc = NULL, *o;
    snprintf(path, sizeof path, "/_sim/orders?full=1&key=%s", key);
    sim("GET", path, NULL, &doc);
    o = json_array_get(json_object_get(doc, "orders"), 0);
    json_incref(o);
    json_decref(doc);
    return o;
}

/* ---- an order to send ---- */
static b2b_erp_line_t lines[2] = {
    { "SKU-00042", 3, 1725, 5175, 431, 5606 },
    { "SKU-00007", 1, 999, 999, 0, 999 },
};

static b2b_erp_order_t make_order(const char *order_id, char *key_buf, size_t cap, const char *suffix)
{
    b2b_erp_order_t o;
    memset(&o, 0, sizeof o);
    snprintf(key_buf, cap, "%s%s", prefix, suffix);
    o.order_id = order_id;
    o.idempotency_key = key_buf;
    o.account = "ACME-NA";
    o.po_number = "PO-4711";
    o.currency = "USD";
    o.minor_digits = 2;
    o.placed_at = 1700000000;
    o.lines = lines;
    o.line_count = 2;
    o.net_minor = 6174;
    o.tax_minor = 431;
    o.gross_minor = 6605;
    return o;
}

static b2b_erp_instance_t *instance(const char *url, long timeout_ms)
{
    b2b_erp_config_t cfg;
    b2b_erp_instance_t *i = NULL;
    char err[256];
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.timeout_ms = timeout_ms;
    cfg.connect_timeout_ms = 1000;
    if (b2b_erp_instance_create(b2b_erp_adapter_find("http"), &cfg, &i, err, sizeof err) != 0)
        printf("# create failed: %s\n", err);
    return i;
}

/* ---- concurrent deliveries ---- */
typedef struct {
    const char *key;          /* shared key, or NULL for one of its own */
    char own_key[128];
    char order_id[32];
    b2b_erp_result_t result;
} job_t;

static void *deliver(void *arg)
{
    job_t *j = arg;
    char key[128];
    b2b_erp_instance_t *erp = instance(base_url, 10000);
    b2b_erp_order_t o = make_order(j->order_id, key, sizeof key, j->own_key);
    if (j->key != NULL)
        o.idempotency_key = j->key;
    if (erp == NULL) {
        b2b_erp_result_fail(&j->result, B2B_ERP_PERMANENT, 0, "no instance");
        return NULL;
    }
    b2b_erp_submit_order(erp, &o, &j->result);
    b2b_erp_instance_destroy(erp);
    return NULL;
}

typedef struct { int seen; int stop_after; int ours; int64_t on_hand[2]; } stock_seen_t;

static int on_stock(void *baton, const b2b_erp_stock_t *s)
{
    stock_seen_t *st = baton;
    char sku[128];
    int k;
    st->seen++;
    for (k = 0; k < 2; k++) {
        snprintf(sku, sizeof sku, "%sSKU-%d", prefix, k);
        if (strcmp(s->sku, sku) == 0 && strncmp(s->as_of, "2099-01-01T00:00:00", 19) == 0) {
            st->ours++;
            st->on_hand[k] = s->on_hand;
        }
    }
    return st->stop_after > 0 && st->seen >= st->stop_after;
}

int main(void)
{
    b2b_erp_instance_t *erp, *quick;
    b2b_erp_result_t r, r2;
    b2b_erp_order_t o;
    char key[128], key2[128], url[1024], err[256], first_ref[B2B_ERP_REF_MAX];
    json_t *doc, *rec, *req, *l0;
    double t0, took;
    int i;

    base_url = getenv("B2B_ERP_URL");
    if (base_url == NULL || *base_url == '\0') {
        printf("1..1\nok 1 # skip B2B_ERP_URL is not set (no simulator to test against)\n");
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(prefix, sizeof prefix, "ctest-%ld-%ld-", (long)getpid(), (long)time(NULL));
    printf("# simulator %s, key prefix %s\n", base_url, prefix);

    if (!ok(sim("GET", "/_sim/health", NULL, NULL) == 200, "the simulator answers at %s", base_url)) {
        printf("1..%d\n", ran);
        return 1;
    }
    erp = instance(base_url, 5000);
    if (!ok(erp != NULL, "create an http adapter instance")) {
        printf("1..%d\n", ran);
        return 1;
    }
    ok(sim("POST", "/_sim/mode", "{\"mode\":\"ok\"}", NULL) == 200, "simulator in mode ok");

    /* ---- ok: created, then the same key again is the same order ---- */
    o = make_order("900001", key, sizeof key, "a");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_OK && r.http_status == 201 && !r.duplicate
            && strncmp(r.erp_ref, "ERP-", 4) == 0 && strcmp(r.erp_status, "confirmed") == 0,
            "first delivery: OK, 201, erp_ref %s, status confirmed", r.erp_ref))
        diag_result(&r);
    snprintf(first_ref, sizeof first_ref, "%s", r.erp_ref);
    b2b_erp_submit_order(erp, &o, &r2);
    if (!ok(r2.outcome == B2B_ERP_OK && r2.http_status == 200 && r2.duplicate
            && strcmp(r2.erp_ref, first_ref) == 0, "second delivery, same key: OK, 200, duplicate, same erp_ref"))
        diag_result(&r2);
    rec = sim_order(key);
    ok(rec != NULL && json_integer_value(json_object_get(rec, "deliveries")) == 2,
       "the simulator has one order for the key, delivered twice");

    /* ---- the wire format ---- */
    req = json_object_get(rec, "request");
    l0 = json_array_get(json_object_get(req, "lines"), 0);
    ok(req != NULL && strcmp(json_string_value(json_object_get(req, "order_id")), "900001") == 0
       && strcmp(json_string_value(json_object_get(req, "idempotency_key")), key) == 0
       && strcmp(json_string_value(json_object_get(req, "account")), "ACME-NA") == 0
       && strcmp(json_string_value(json_object_get(req, "po_number")), "PO-4711") == 0
       && strcmp(json_string_value(json_object_get(req, "currency")), "USD") == 0
       && strcmp(json_string_value(json_object_get(req, "placed_at")), "2023-11-14T22:13:20Z") == 0,
       "order header fields as sent (order_id is a string, placed_at ISO 8601 UTC)");
    ok(l0 != NULL && json_integer_value(json_object_get(l0, "line_no")) == 1
       && strcmp(json_string_value(json_object_get(l0, "sku")), "SKU-00042") == 0
       && json_is_integer(json_object_get(l0, "qty")) && json_integer_value(json_object_get(l0, "qty")) == 3
       && strcmp(json_string_value(json_object_get(l0, "unit_price")), "17.25") == 0
       && strcmp(json_string_value(json_object_get(l0, "net")), "51.75") == 0
       && strcmp(json_string_value(json_object_get(l0, "tax")), "4.31") == 0
       && strcmp(json_string_value(json_object_get(l0, "gross")), "56.06") == 0,
       "a line: line_no, sku, integer qty, money as decimal strings with the currency's digits");
    ok(strcmp(json_string_value(json_object_get(json_object_get(req, "totals"), "gross")), "66.05") == 0
       && strcmp(json_string_value(json_object_get(json_object_get(req, "totals"), "net")), "61.74") == 0
       && json_object_get(req, "note") == NULL && json_object_get(req, "promo_code") == NULL,
       "totals as decimal strings; empty optional fields are left out");
    json_decref(rec);

    {   /* a currency without minor digits */
        b2b_erp_line_t yl = { "SKU-00001", 2, 1500, 3000, 300, 3300 };
        o = make_order("900002", key, sizeof key, "jpy");
        o.currency = "JPY";
        o.minor_digits = 0;
        o.lines = &yl;
        o.line_count = 1;
        o.net_minor = 3000; o.tax_minor = 300; o.gross_minor = 3300;
        b2b_erp_submit_order(erp, &o, &r);
        rec = sim_order(key);
        req = json_object_get(rec, "request");
        ok(r.outcome == B2B_ERP_OK && strcmp(json_string_value(json_object_get(
               json_array_get(json_object_get(req, "lines"), 0), "unit_price")), "1500") == 0
           && strcmp(json_string_value(json_object_get(json_object_get(req, "totals"), "gross")), "3300") == 0,
           "JPY (0 digits): amounts without a decimal point");
        json_decref(rec);
    }

    /* ---- retryable: down (with Retry-After) ---- */
    ok(set_mode("\"mode\":\"down\",\"retry_after\":7"), "mode down for our keys");
    o = make_order("900003", key, sizeof key, "down");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_RETRYABLE && r.http_status == 503 && r.retry_after_ms == 7000
            && strstr(r.error, "503") != NULL && r.erp_ref[0] == '\0',
            "down: RETRYABLE, 503, Retry-After 7 s reported as 7000 ms"))
        diag_result(&r);
    rec = sim_order(key);
    ok(rec == NULL, "down: the simulator recorded nothing");
    json_decref(rec);

    /* ---- retryable: timeout against slow ---- */
    ok(set_mode("\"mode\":\"slow\",\"delay_ms\":1500"), "mode slow (1500 ms) for our keys");
    quick = instance(base_url, 400);
    o = make_order("900004", key2, sizeof key2, "slow");
    t0 = now_ms();
    b2b_erp_submit_order(quick, &o, &r);
    took = now_ms() - t0;
    if (!ok(r.outcome == B2B_ERP_RETRYABLE && r.http_status == 0 && strstr(r.error, "timeout") != NULL
            && took < 1200, "slow beyond the 400 ms timeout: RETRYABLE, no HTTP status, after %.0f ms", took))
        diag_result(&r);

    /* ---- concurrency: a slow ERP does not serialize 8 deliveries ---- */
    ok(set_mode("\"mode\":\"slow\",\"delay_ms\":700"), "mode slow (700 ms) for our keys");
    {
        pthread_t th[8];
        job_t jobs[8];
        int all_ok = 1;
        memset(jobs, 0, sizeof jobs);
        t0 = now_ms();
        for (i = 0; i < 8; i++) {
            snprintf(jobs[i].own_key, sizeof jobs[i].own_key, "par-%d", i);
            snprintf(jobs[i].order_id, sizeof jobs[i].order_id, "9001%02d", i);
            pthread_create(&th[i], NULL, deliver, &jobs[i]);
        }
        for (i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            if (jobs[i].result.outcome != B2B_ERP_OK || jobs[i].result.http_status != 201) {
                all_ok = 0;
                diag_result(&jobs[i].result);
            }
        }
        took = now_ms() - t0;
        ok(all_ok, "8 threads, 8 instances, 8 orders against a 700 ms ERP: all OK");
        ok(took < 2000, "... in %.0f ms (in parallel: well under 8 x 700)", took);
    }

    /* ---- permanent: reject ---- */
    ok(set_mode("\"mode\":\"reject\""), "mode reject for our keys");
    o = make_order("900005", key, sizeof key, "reject");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 422 && strstr(r.error, "rejected") != NULL,
            "reject: PERMANENT, 422, the ERP's message in the error"))
        diag_result(&r);

    /* ---- retryable: flaky at ratio 1 fails every time with 500 or 503 ---- */
    ok(set_mode("\"mode\":\"flaky\",\"fail_ratio\":1"), "mode flaky (ratio 1) for our keys");
    o = make_order("900006", key, sizeof key, "flaky");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_RETRYABLE && (r.http_status == 500 || r.http_status == 503),
            "flaky: RETRYABLE with %d", r.http_status))
        diag_result(&r);

    /* ---- a 2xx the adapter cannot read ---- */
    ok(set_mode("\"mode\":\"garbage\""), "mode garbage (200 with an HTML page) for our keys");
    o = make_order("900007", key, sizeof key, "garbage");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_RETRYABLE && r.http_status == 200 && strstr(r.error, "erp_ref") != NULL,
            "unreadable 2xx answer: RETRYABLE (same key again is safe), says why"))
        diag_result(&r);

    /* ---- back to ok: what timed out was processed after all; the retry finds it ---- */
    ok(sim("POST", "/_sim/mode", "{\"mode\":\"ok\"}", NULL) == 200, "mode ok");
    for (i = 0; i < 40 && (rec = sim_order(key2)) == NULL; i++)
        sleep_ms(100);
    json_decref(rec);
    o = make_order("900004", key2, sizeof key2, "slow");
    b2b_erp_submit_order(erp, &o, &r);
    if (!ok(r.outcome == B2B_ERP_OK && r.duplicate,
            "retry of the timed-out order: OK and duplicate (the ERP had processed it late)"))
        diag_result(&r);
    o = make_order("900003", key, sizeof key, "down");
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_OK && !r.duplicate && r.http_status == 201,
       "retry of the order refused while down: OK, created now");

    /* ---- one key from 8 threads at once: one order ---- */
    {
        pthread_t th[8];
        job_t jobs[8];
        int created = 0, same = 1;
        char shared[128];
        snprintf(shared, sizeof shared, "%sshared", prefix);
        memset(jobs, 0, sizeof jobs);
        for (i = 0; i < 8; i++) {
            jobs[i].key = shared;
            snprintf(jobs[i].order_id, sizeof jobs[i].order_id, "900200");
            pthread_create(&th[i], NULL, deliver, &jobs[i]);
        }
        for (i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            if (jobs[i].result.outcome == B2B_ERP_OK && !jobs[i].result.duplicate)
                created++;
            if (jobs[i].result.outcome != B2B_ERP_OK || strcmp(jobs[i].result.erp_ref, jobs[0].result.erp_ref) != 0)
                same = 0;
        }
        rec = sim_order(shared);
        ok(created == 1 && same, "same key from 8 threads: exactly one created, all got the same erp_ref");
        ok(rec != NULL && json_integer_value(json_object_get(rec, "deliveries")) == 8,
           "... and the simulator counts 8 deliveries of one order");
        json_decref(rec);
    }

    /* ---- permanent: the key belongs to another order ---- */
    o = make_order("999999", key, sizeof key, "a");
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 409, "key reused for another order: PERMANENT, 409");

    /* ---- permanent without sending: orders no ERP could take ---- */
    o = make_order("900008", key, sizeof key, "bad");
    {
        b2b_erp_line_t bad = lines[0];
        bad.qty = 0;
        o.lines = &bad;
        o.line_count = 1;
        b2b_erp_submit_order(erp, &o, &r);
        ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 0 && strstr(r.error, "line 1") != NULL,
           "qty 0: PERMANENT before sending (%s)", r.error);
    }
    o = make_order("900008", key, sizeof key, "bad");
    o.po_number = "PO-\xff\xfe";
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 0 && strstr(r.error, "UTF-8") != NULL,
       "a field that is not UTF-8: PERMANENT before sending");
    o = make_order("900008", key, sizeof key, "bad\r\nX-Injected: 1");
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 0, "CR/LF in the key (header injection): refused");
    o = make_order("900008", key, sizeof key, "bad");
    o.gross_minor += 1;
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 0, "totals with gross != net + tax: refused");
    rec = sim_order(key);
    ok(rec == NULL, "none of those reached the simulator");
    json_decref(rec);

    /* ---- wrong place ---- */
    {
        b2b_erp_instance_t *nowhere = instance("http://127.0.0.1:1", 2000);
        o = make_order("900009", key, sizeof key, "refused");
        b2b_erp_submit_order(nowhere, &o, &r);
        ok(r.outcome == B2B_ERP_RETRYABLE && r.http_status == 0 && strstr(r.error, "unreachable") != NULL,
           "connection refused: RETRYABLE (%s)", r.error);
        b2b_erp_instance_destroy(nowhere);
        snprintf(url, sizeof url, "%s/no/such/prefix/", base_url);
        nowhere = instance(url, 2000);
        b2b_erp_submit_order(nowhere, &o, &r);
        ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 404, "a URL with no ERP behind it (404): PERMANENT");
        b2b_erp_instance_destroy(nowhere);
    }
    {
        b2b_erp_config_t cfg;
        b2b_erp_instance_t *none = NULL;
        memset(&cfg, 0, sizeof cfg);
        cfg.url = "ftp://127.0.0.1/";
        ok(b2b_erp_instance_create(&b2b_erp_http_adapter, &cfg, &none, err, sizeof err) == -1 && none == NULL
           && strstr(err, "http") != NULL, "create refuses a non-HTTP URL (%s)", err);
    }

    /* ---- stock ---- */
    {
        char body[512];
        stock_seen_t seen;
        snprintf(body, sizeof body,
                 "[{\"sku\":\"%sSKU-0\",\"on_hand\":12,\"as_of\":\"2099-01-01T00:00:00Z\"},"
                 "{\"sku\":\"%sSKU-1\",\"on_hand\":-3,\"as_of\":\"2099-01-01T00:00:00.500Z\"}]",
                 prefix, prefix);
        ok(sim("POST", "/_sim/stock", body, NULL) == 200, "set two stock levels dated 2099");
        memset(&seen, 0, sizeof seen);
        b2b_erp_fetch_stock(erp, "2098-12-31T23:59:59Z", on_stock, &seen, &r);
        /* Earlier runs (not reset) may have left levels dated 2099 under other prefixes. */
        if (!ok(r.outcome == B2B_ERP_OK && r.items == (size_t)seen.seen && seen.ours == 2
                && seen.on_hand[0] == 12 && seen.on_hand[1] == -3,
                "fetch_stock since 2098: ours among them (%zu), with their levels", r.items))
            diag_result(&r);
        memset(&seen, 0, sizeof seen);
        b2b_erp_fetch_stock(erp, "4070908800", on_stock, &seen, &r);   /* 2099-01-01 in unix seconds */
        ok(r.outcome == B2B_ERP_OK && seen.ours == 2, "since as unix seconds (inclusive bound)");
        memset(&seen, 0, sizeof seen);
        b2b_erp_fetch_stock(erp, "2099-01-01T00:00:01Z", on_stock, &seen, &r);
        ok(r.outcome == B2B_ERP_OK && r.items == 0 && seen.seen == 0, "since after them: nothing");
        memset(&seen, 0, sizeof seen);
        seen.stop_after = 1;
        b2b_erp_fetch_stock(erp, "2098-12-31T23:59:59Z", on_stock, &seen, &r);
        ok(r.outcome == B2B_ERP_OK && seen.seen == 1 && r.items == 1, "a callback returning non-zero stops the walk");
        memset(&seen, 0, sizeof seen);
        b2b_erp_fetch_stock(erp, NULL, on_stock, &seen, &r);
        ok(r.outcome == B2B_ERP_OK && seen.ours == 2 && r.items >= 2, "since NULL: every level (%zu)", r.items);
        b2b_erp_fetch_stock(erp, "yesterday", on_stock, &seen, &r);
        ok(r.outcome == B2B_ERP_PERMANENT && r.http_status == 400, "a since the ERP cannot read: PERMANENT, 400");
    }
    o = make_order("900001", key, sizeof key, "a");
    b2b_erp_submit_order(erp, &o, &r);
    ok(r.outcome == B2B_ERP_OK && r.duplicate && strcmp(r.erp_ref, first_ref) == 0,
       "after GETs the same instance POSTs again (same order, same erp_ref)");

    doc = NULL;
    ok(sim("POST", "/_sim/mode", "{\"mode\":\"ok\"}", &doc) == 200, "simulator left in mode ok");
    json_decref(doc);
    b2b_erp_instance_destroy(quick);
    b2b_erp_instance_destroy(erp);
    curl_global_cleanup();
    printf("1..%d\n", ran);
    return failed == 0 ? 0 : 1;
}
