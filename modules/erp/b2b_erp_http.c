/* b2b_erp_http.c — the "http" ERP adapter: orders go to POST {url}/orders as JSON with
 * an Idempotency-Key, stock comes from GET {url}/stock?since=. One libcurl easy handle
 * per instance, so the connection is kept alive between deliveries; an instance is used
 * by one thread at a time. Wire format: tools/erp-sim/README.md. */
#include "b2b_erp.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_USER_AGENT "mod_b2bportal-erp/1"
#define KEY_MAX     255
#define FIELD_MAX   4000   /* a note may be long; codes are far shorter */

typedef struct {
    b2b_erp_instance_t base;        /* first: the generic header */
    CURL *curl;
    char *orders_url;               /* {url}/orders */
    char *stock_url;                /* {url}/stock */
    long timeout_ms;
    size_t max_response;
    char *body;                     /* the last answer, reused between calls */
    size_t body_len, body_cap;
    int body_overflow;
    char curl_error[CURL_ERROR_SIZE];
} http_instance_t;

/* ---- process-wide libcurl initialisation, once, whichever thread comes first ---- */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_instance_t *h = userdata;
    size_t n = size * nmemb;
    if (n > h->max_response - h->body_len) {
        h->body_overflow = 1;
        return 0;    /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (h->body_len + n + 1 > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap : 4096;
        char *p;
        while (cap < h->body_len + n + 1)
            cap *= 2;
        p = realloc(h->body, cap);
        if (p == NULL)
            return 0;
        h->body = p;
        h->body_cap = cap;
    }
    memcpy(h->body + h->body_len, data, n);
    h->body_len += n;
    h->body[h->body_len] = '\0';
    return n;
}

static void http_destroy(b2b_erp_instance_t *instance)
{
    http_instance_t *h = (http_instance_t *)instance;
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h->orders_url);
    free(h->stock_url);
    free(h->body);
    free(h);
}

static int http_create(const b2b_erp_config_t *config, b2b_erp_instance_t **out,
                       char *err, size_t errlen)
{
    http_instance_t *h;
    char *base;
    size_t len;
    long connect_ms, total_ms;
    CURLcode rc = CURLE_OK;

    *out = NULL;
    if (config->url == NULL || (strncmp(config->url, "http://", 7) != 0
                                && strncmp(config->url, "https://", 8) != 0)) {
        set_err(err, errlen, "the ERP URL must start with http:// or https://");
        return -1;
    }
    if ((config->user == NULL) != (config->password == NULL)) {
        set_err(err, errlen, "give both an ERP user and a password, or neither");
        return -1;
    }
    connect_ms = config->connect_timeout_ms > 0 ? config->connect_timeout_ms
                                                : B2B_ERP_DEFAULT_CONNECT_TIMEOUT_MS;
    total_ms = config->timeout_ms > 0 ? config->timeout_ms : B2B_ERP_DEFAULT_TIMEOUT_MS;
    if (connect_ms > total_ms)
        connect_ms = total_ms;

    pthread_once(&curl_once, curl_init_once);
    if (curl_init_code != CURLE_OK) {
        set_err(err, errlen, curl_easy_strerror(curl_init_code));
        return -1;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    h->base.adapter = &b2b_erp_http_adapter;
    h->timeout_ms = total_ms;
    h->max_response = config->max_response_bytes > 0 ? config->max_response_bytes
                                                     : B2B_ERP_DEFAULT_MAX_RESPONSE;
    /* The base URL without trailing slashes, then the two endpoints. */
    base = strdup(config->url);
    if (base == NULL) {
        http_destroy(&h->base);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        base[--len] = '\0';
    h->orders_url = join(base, "/orders");
    h->stock_url = join(base, "/stock");
    free(base);
    h->curl = curl_easy_init();
    if (h->orders_url == NULL || h->stock_url == NULL || h->curl == NULL) {
        http_destroy(&h->base);
        set_err(err, errlen, "out of memory (or libcurl failed to start)");
        return -1;
    }

#define SETOPT(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(h->curl, opt, val)
    SETOPT(CURLOPT_NOSIGNAL, 1L);               /* threads: no SIGALRM for timeouts */
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, total_ms);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_USERAGENT, config->user_agent ? config->user_agent : DEFAULT_USER_AGENT);
    SETOPT(CURLOPT_ERRORBUFFER, h->curl_error);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, (void *)h);
    if (config->user != NULL) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, config->user);
        SETOPT(CURLOPT_PASSWORD, config->password);
    }
#undef SETOPT
    if (rc != CURLE_OK) {
        set_err(err, errlen, curl_easy_strerror(rc));
        http_destroy(&h->base);
        return -1;
    }
    *out = &h->base;
    return 0;
}

/* ---- one exchange: fills out->http_status and the retryable transport failures;
 * returns 0 when an HTTP answer (any status) is in h->body. ---- */
static int perform(http_instance_t *h, const char *url, struct curl_slist *headers,
                   const char *post, size_t post_len, b2b_erp_result_t *out)
{
    CURLcode rc;
    long status = 0;
    curl_off_t retry_after = 0;

    h->body_len = 0;
    h->body_overflow = 0;
    if (h->body != NULL)
        h->body[0] = '\0';
    h->curl_error[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    if (post != NULL) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
    } else {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    rc = curl_easy_perform(h->curl);
    /* The handle must not keep pointers to the caller's header list and body. */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    if (post != NULL)
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (char *)NULL);

    if (rc != CURLE_OK) {
        const char *detail = h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc);
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, 0, "ERP timeout (limit %ld ms): %s",
                                h->timeout_ms, detail);
        else if (rc == CURLE_WRITE_ERROR && h->body_overflow)
            b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, (int)status,
                                "ERP answer larger than %zu bytes", h->max_response);
        else
            b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, 0, "ERP unreachable: %s", detail);
        return -1;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    out->http_status = (int)status;
    if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK
        && retry_after > 0)
        out->retry_after_ms = retry_after > 86400 ? 86400L * 1000 : (long)retry_after * 1000;
    return 0;
}

/* A one-line account of an error answer: the ERP's own message if it sent the portal's
 * error shape ({"error":{"code","message"}}) or {"error"|"message": "..."}; else the
 * start of the body. */
static void describe_error(const http_instance_t *h, char *buf, size_t cap)
{
    json_t *doc = json_loadb(h->body ? h->body : "", h->body_len, 0, NULL);
    const char *code = NULL, *msg = NULL;
    if (doc != NULL) {
        json_t *e = json_object_get(doc, "error");
        if (json_is_object(e)) {
            code = json_string_value(json_object_get(e, "code"));
            msg = json_string_value(json_object_get(e, "message"));
        } else if (json_is_string(e)) {
            msg = json_string_value(e);
        } else {
            msg = json_string_value(json_object_get(doc, "message"));
        }
    }
    if (msg != NULL && code != NULL)
        snprintf(buf, cap, "%s: %s", code, msg);
    else if (msg != NULL || code != NULL)
        snprintf(buf, cap, "%s", msg ? msg : code);
    else if (h->body_len > 0)
        snprintf(buf, cap, "%.200s", h->body);
    else
        snprintf(buf, cap, "empty answer");
    json_decref(doc);
}

static void fail_from_status(const http_instance_t *h, b2b_erp_result_t *out, const char *what)
{
    char detail[300];
    int status = out->http_status;
    long retry_after = out->retry_after_ms;
    describe_error(h, detail, sizeof detail);
    b2b_erp_result_fail(out, b2b_erp_classify_http(status), status, "ERP answered %d to %s: %s",
                        status, what, detail);
    out->retry_after_ms = retry_after;
}

/* ---- the order as JSON ---- */

/* Exactly `digits` fractional digits: 1725,2 -> "17.25"; 5,0 -> "5". */
static void format_money(int64_t minor, int digits, char buf[32])
{
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = 1;
    int i;
    for (i = 0; i < digits; i++)
        scale *= 10;
    if (digits == 0)
        snprintf(buf, 32, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)mag);
    else
        snprintf(buf, 32, "%s%llu.%0*llu", minor < 0 ? "-" : "",
                 (unsigned long long)(mag / scale), digits, (unsigned long long)(mag % scale));
}

static int bad_text(const char *s, size_t max)
{
    size_t n = 0;
    if (s == NULL || *s == '\0')
        return 1;
    for (; *s != '\0'; s++, n++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= max)
            return 1;
    }
    return 0;
}

static int sum_ok(int64_t net, int64_t tax, int64_t gross)
{
    return net >= 0 && tax >= 0 && net <= INT64_MAX - tax && gross == net + tax;
}

/* Refuses, before anything is sent, what no ERP could accept: returns a message or NULL. */
static const char *check_order(const b2b_erp_order_t *o, size_t *bad_line)
{
    size_t i;
    const char *c = o->currency;
    if (bad_text(o->order_id, 64))
        return "order_id must be 1..64 characters without control characters";
    if (o->idempotency_key != NULL && bad_text(o->idempotency_key, KEY_MAX))
        return "idempotency_key must be 1..255 characters without control characters";
    if (bad_text(o->account, 64))
        return "account must be 1..64 characters without control characters";
    if (bad_text(o->po_number, 64))
        return "po_number must be 1..64 characters without control characters";
    if (c == NULL || strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z'
        || c[2] < 'A' || c[2] > 'Z')
        return "currency must be three upper-case letters";
    if (o->minor_digits < 0 || o->minor_digits > 3)
        return "minor_digits must be 0..3";
    if (o->promo_code != NULL && *o->promo_code != '\0' && bad_text(o->promo_code, 64))
        return "promo_code must be at most 64 characters without control characters";
    if (o->note != NULL && strlen(o->note) > FIELD_MAX)
        return "note is longer than 4000 bytes";
    if (o->lines == NULL || o->line_count == 0)
        return "an order needs at least one line";
    if (o->line_count > 1000)
        return "an order has at most 1000 lines";
    for (i = 0; i < o->line_count; i++) {
        const b2b_erp_line_t *l = &o->lines[i];
        *bad_line = i + 1;
        if (bad_text(l->sku, 64))
            return "sku must be 1..64 characters without control characters";
        if (l->qty < 1 || l->qty > 1000000)
            return "qty must be 1..1000000";
        if (l->unit_price_minor < 0)
            return "unit price must not be negative";
        if (!sum_ok(l->net_minor, l->tax_minor, l->gross_minor))
            return "line amounts must be non-negative with gross = net + tax";
    }
    *bad_line = 0;
    if (!sum_ok(o->net_minor, o->tax_minor, o->gross_minor))
        return "order totals must be non-negative with gross = net + tax";
    return NULL;
}

/* Sets key to a JSON string; -1 if the text is not UTF-8 (or memory ran out). */
static int set_str(json_t *obj, const char *key, const char *value)
{
    json_t *s = json_string(value);
    return s != NULL && json_object_set_new(obj, key, s) == 0 ? 0 : -1;
}

static int set_money(json_t *obj, const char *key, int64_t minor, int digits)
{
    char buf[32];
    format_money(minor, digits, buf);
    return set_str(obj, key, buf);
}

static int set_int(json_t *obj, const char *key, json_int_t v)
{
    json_t *n = json_integer(v);
    return n != NULL && json_object_set_new(obj, key, n) == 0 ? 0 : -1;
}

/* The request body (malloc'd, caller frees) or NULL with *why set. */
static char *order_json(const b2b_erp_order_t *o, const char *key, const char **why)
{
    json_t *doc = json_object(), *lines = json_array(), *totals = json_object();
    char *text = NULL;
    int bad = doc == NULL || lines == NULL || totals == NULL;
    int d = o->minor_digits;
    size_t i;

    bad = bad || set_str(doc, "order_id", o->order_id) || set_str(doc, "idempotency_key", key)
          || set_str(doc, "account", o->account) || set_str(doc, "po_number", o->po_number)
          || set_str(doc, "currency", o->currency);
    if (!bad && o->placed_at != 0) {
        char ts[32];
        struct tm tm;
        time_t t = (time_t)o->placed_at;
        if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            bad = 1;
        else
            bad = set_str(doc, "placed_at", ts);
    }
    if (!bad && o->promo_code != NULL && *o->promo_code != '\0')
        bad = set_str(doc, "promo_code", o->promo_code);
    if (!bad && o->note != NULL && *o->note != '\0')
        bad = set_str(doc, "note", o->note);
    for (i = 0; !bad && i < o->line_count; i++) {
        const b2b_erp_line_t *l = &o->lines[i];
        json_t *line = json_object();
        bad = line == NULL || json_array_append_new(lines, line) != 0;
        bad = bad || set_int(line, "line_no", (json_int_t)(i + 1)) || set_str(line, "sku", l->sku)
              || set_int(line, "qty", (json_int_t)l->qty)
              || set_money(line, "unit_price", l->unit_price_minor, d)
              || set_money(line, "net", l->net_minor, d) || set_money(line, "tax", l->tax_minor, d)
              || set_money(line, "gross", l->gross_minor, d);
    }
    bad = bad || set_money(totals, "net", o->net_minor, d) || set_money(totals, "tax", o->tax_minor, d)
          || set_money(totals, "gross", o->gross_minor, d);
    if (!bad) {
        /* _set_new takes the references: clear our pointers so the error path frees once. */
        bad = json_object_set_new(doc, "lines", lines) != 0;
        lines = NULL;
        bad = bad || json_object_set_new(doc, "totals", totals) != 0;
        totals = NULL;
    }
    if (!bad)
        text = json_dumps(doc, JSON_COMPACT);
    if (text == NULL)
        *why = "a text field is not valid UTF-8 (or memory ran out)";
    json_decref(lines);
    json_decref(totals);
    json_decref(doc);
    return text;
}

static void http_submit_order(b2b_erp_instance_t *instance, const b2b_erp_order_t *order,
                              b2b_erp_result_t *out)
{
    http_instance_t *h = (http_instance_t *)instance;
    const char *key, *why = NULL, *ref, *status;
    size_t bad_line = 0;
    struct curl_slist *headers = NULL, *tmp;
    char *body, *key_header;
    json_t *doc;

    b2b_erp_result_init(out);
    why = check_order(order, &bad_line);
    if (why != NULL) {
        if (bad_line > 0)
            b2b_erp_result_fail(out, B2B_ERP_PERMANENT, 0, "order not sent: line %zu: %s",
                                bad_line, why);
        else
            b2b_erp_result_fail(out, B2B_ERP_PERMANENT, 0, "order not sent: %s", why);
        return;
    }
    key = order->idempotency_key != NULL ? order->idempotency_key : order->order_id;
    body = order_json(order, key, &why);
    if (body == NULL) {
        b2b_erp_result_fail(out, B2B_ERP_PERMANENT, 0, "order not sent: %s", why);
        return;
    }
    key_header = join("Idempotency-Key: ", key);
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (headers != NULL && (tmp = curl_slist_append(headers, "Accept: application/json")) != NULL)
        headers = tmp;
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if (headers != NULL && (tmp = curl_slist_append(headers, "Expect:")) != NULL)
        headers = tmp;
    if (headers != NULL && key_header != NULL
        && (tmp = curl_slist_append(headers, key_header)) != NULL) {
        headers = tmp;
    } else {
        b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, 0, "out of memory building the request");
        goto done;
    }

    if (perform(h, h->orders_url, headers, body, strlen(body), out) != 0)
        goto done;
    if (b2b_erp_classify_http(out->http_status) != B2B_ERP_OK) {
        fail_from_status(h, out, "the order");
        goto done;
    }
    /* 2xx: the ERP has the order. An answer we cannot read is retried: the same key
     * brings the same order back, and the worker's attempt limit bounds it. */
    doc = json_loadb(h->body ? h->body : "", h->body_len, 0, NULL);
    ref = json_string_value(json_object_get(doc, "erp_ref"));
    status = json_string_value(json_object_get(doc, "status"));
    if (ref == NULL || bad_text(ref, B2B_ERP_REF_MAX - 1)) {
        int http = out->http_status;
        b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, http,
                            "ERP answered %d without a usable erp_ref: %.120s", http,
                            h->body_len ? h->body : "(empty)");
    } else if (json_object_get(doc, "status") != NULL
               && (status == NULL || (*status != '\0' && bad_text(status, B2B_ERP_STATUS_MAX - 1)))) {
        int http = out->http_status;
        b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, http,
                            "ERP answered %d with an unusable status: %.120s", http, h->body);
    } else {
        out->outcome = B2B_ERP_OK;
        out->duplicate = out->http_status == 200;
        snprintf(out->erp_ref, sizeof out->erp_ref, "%s", ref);
        snprintf(out->erp_status, sizeof out->erp_status, "%s", status ? status : "");
    }
    json_decref(doc);
done:
    curl_slist_free_all(headers);
    free(key_header);
    free(body);
}

static void http_fetch_stock(b2b_erp_instance_t *instance, const char *since,
                             b2b_erp_stock_cb callback, void *baton, b2b_erp_result_t *out)
{
    http_instance_t *h = (http_instance_t *)instance;
    struct curl_slist *headers = NULL;
    char *url = NULL;
    json_t *doc = NULL, *items, *item;
    size_t i;

    b2b_erp_result_init(out);
    if (since != NULL && *since != '\0') {
        char *esc = curl_easy_escape(h->curl, since, 0);
        char *q = esc ? join("?since=", esc) : NULL;
        url = q ? join(h->stock_url, q) : NULL;
        curl_free(esc);
        free(q);
    } else {
        url = strdup(h->stock_url);
    }
    headers = curl_slist_append(NULL, "Accept: application/json");
    if (url == NULL || headers == NULL) {
        b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, 0, "out of memory building the request");
        goto done;
    }
    if (perform(h, url, headers, NULL, 0, out) != 0)
        goto done;
    if (b2b_erp_classify_http(out->http_status) != B2B_ERP_OK) {
        fail_from_status(h, out, "the stock request");
        goto done;
    }
    doc = json_loadb(h->body ? h->body : "", h->body_len, 0, NULL);
    items = json_is_object(doc) ? json_object_get(doc, "items") : doc;
    if (!json_is_array(items)) {
        b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, out->http_status,
                            "ERP stock answer is not a JSON array: %.120s",
                            h->body_len ? h->body : "(empty)");
        goto done;
    }
    /* Check everything first: a bad answer must not half-update the caller. */
    json_array_foreach(items, i, item) {
        const char *sku = json_string_value(json_object_get(item, "sku"));
        const char *as_of = json_string_value(json_object_get(item, "as_of"));
        if (sku == NULL || bad_text(sku, 64) || !json_is_integer(json_object_get(item, "on_hand"))
            || as_of == NULL || bad_text(as_of, 64)) {
            b2b_erp_result_fail(out, B2B_ERP_RETRYABLE, out->http_status,
                                "ERP stock item %zu lacks sku, integer on_hand or as_of", i);
            goto done;
        }
    }
    json_array_foreach(items, i, item) {
        b2b_erp_stock_t s;
        s.sku = json_string_value(json_object_get(item, "sku"));
        s.on_hand = (int64_t)json_integer_value(json_object_get(item, "on_hand"));
        s.as_of = json_string_value(json_object_get(item, "as_of"));
        out->items++;
        if (callback != NULL && callback(baton, &s) != 0)
            break;
    }
done:
    json_decref(doc);
    curl_slist_free_all(headers);
    free(url);
}

const b2b_erp_adapter_t b2b_erp_http_adapter = {
    "http",
    http_create,
    http_submit_order,
    http_fetch_stock,
    http_destroy
};
