/* b2b_erp.h — the ERP client library: a swappable adapter interface, the HTTP
 * adapter (libcurl + jansson) and the retry backoff. Plain C, no httpd/APR types, so
 * the worker, the unit tests and tools link it alike.
 *
 * Use:
 *     const b2b_erp_adapter_t *a = b2b_erp_adapter_find("http");
 *     b2b_erp_instance_t *erp;
 *     if (b2b_erp_instance_create(a, &config, &erp, err, sizeof err) != 0) ...;
 *     b2b_erp_submit_order(erp, &order, &result);   // result.outcome: OK/RETRYABLE/PERMANENT
 *     b2b_erp_instance_destroy(erp);
 *
 * Threads: an instance (one connection, kept alive between calls) is used by one thread
 * at a time; give each worker thread its own. Adapters and the registry are immutable.
 * The order's wire format is documented in tools/erp-sim/README.md. */
#ifndef B2B_ERP_H
#define B2B_ERP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (strings are copied by create; NULL/0 take the default) ---- */
typedef struct {
    const char *url;              /* ERP base URL, e.g. "http://127.0.0.1:8089" (required) */
    long connect_timeout_ms;      /* TCP connect; default 2000 */
    long timeout_ms;              /* whole request, connect included; default 10000 */
    const char *user;             /* HTTP Basic credentials, both or neither */
    const char *password;
    const char *user_agent;       /* default "mod_b2bportal-erp/1" */
    size_t max_response_bytes;    /* larger answers fail (retryable); default 16 MiB */
} b2b_erp_config_t;

#define B2B_ERP_DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define B2B_ERP_DEFAULT_TIMEOUT_MS         10000L
#define B2B_ERP_DEFAULT_MAX_RESPONSE       ((size_t)16 * 1024 * 1024)

/* ---- an order as the worker hands it over (borrowed for the call only) ----
 * Money is exact: integer minor units of `currency`, `minor_digits` fractional digits
 * (USD 2, JPY 0, ...); the adapter writes them as decimal strings ("17.25"). */
typedef struct {
    const char *sku;
    int64_t qty;                  /* 1..1000000 */
    int64_t unit_price_minor;
    int64_t net_minor, tax_minor, gross_minor;   /* gross = net + tax */
} b2b_erp_line_t;

typedef struct {
    const char *order_id;         /* the portal's order id, as text ("42") */
    const char *idempotency_key;  /* NULL: order_id. 1..255 bytes, no control characters */
    const char *account;          /* account code, e.g. "ACME-NA" */
    const char *po_number;
    const char *currency;         /* 3 upper-case letters */
    int minor_digits;             /* 0..3 */
    const char *promo_code;       /* optional (NULL or "": not sent) */
    const char *note;             /* optional */
    int64_t placed_at;            /* unix seconds; 0: not sent */
    const b2b_erp_line_t *lines;
    size_t line_count;            /* >= 1 */
    int64_t net_minor, tax_minor, gross_minor;   /* order totals; gross = net + tax */
} b2b_erp_order_t;

/* ---- outcome of one call ---- */
typedef enum {
    B2B_ERP_OK = 0,       /* accepted: erp_ref (and erp_status) are set */
    B2B_ERP_RETRYABLE,    /* try again later with the same key: connect failure, timeout,
                             5xx, 408, 429, an unreadable answer */
    B2B_ERP_PERMANENT     /* retrying cannot help: 4xx (but 408/429), 3xx, an order the
                             adapter refuses to send */
} b2b_erp_outcome_t;

const char *b2b_erp_outcome_name(b2b_erp_outcome_t outcome);   /* "ok", "retryable", "permanent" */

#define B2B_ERP_REF_MAX    64
#define B2B_ERP_STATUS_MAX 32
#define B2B_ERP_ERROR_MAX  512

typedef struct {
    b2b_erp_outcome_t outcome;
    int http_status;                      /* 0: no HTTP answer (not sent, connect, timeout) */
    int duplicate;                        /* OK: the ERP already had this key (HTTP 200) */
    long retry_after_ms;                  /* the answer's Retry-After, 0 if none */
    size_t items;                         /* fetch_stock: items passed to the callback */
    char erp_ref[B2B_ERP_REF_MAX];        /* OK from submit_order: e.g. "ERP-000123" */
    char erp_status[B2B_ERP_STATUS_MAX];  /* OK: as the ERP reported it ("confirmed",
                                             "backordered", ...), "" if it said none */
    char error[B2B_ERP_ERROR_MAX];        /* not OK: one line for logs and last_error */
} b2b_erp_result_t;

/* ---- stock levels ---- */
typedef struct {
    const char *sku;
    int64_t on_hand;
    const char *as_of;            /* as the ERP wrote it (ISO 8601) */
} b2b_erp_stock_t;

/* Called once per item, after the whole answer was read and checked (so a bad answer
 * calls nothing). Return non-zero to stop early (the call still ends B2B_ERP_OK). */
typedef int (*b2b_erp_stock_cb)(void *baton, const b2b_erp_stock_t *item);

/* ---- the adapter vtable ---- */
typedef struct b2b_erp_adapter_t b2b_erp_adapter_t;

/* Every adapter's instance starts with this header (its own state follows). */
typedef struct {
    const b2b_erp_adapter_t *adapter;
} b2b_erp_instance_t;

struct b2b_erp_adapter_t {
    const char *name;
    /* 0 and *out set, or -1 with a message in err (err may be NULL). */
    int (*create)(const b2b_erp_config_t *config, b2b_erp_instance_t **out,
                  char *err, size_t errlen);
    void (*submit_order)(b2b_erp_instance_t *instance, const b2b_erp_order_t *order,
                         b2b_erp_result_t *out);
    /* since: NULL/"" for every level, else ISO 8601 or unix seconds (levels changed at
     * or after it). */
    void (*fetch_stock)(b2b_erp_instance_t *instance, const char *since,
                        b2b_erp_stock_cb callback, void *baton, b2b_erp_result_t *out);
    void (*destroy)(b2b_erp_instance_t *instance);
};

/* Registry: the adapter of that name ("http"), or NULL. */
const b2b_erp_adapter_t *b2b_erp_adapter_find(const char *name);
/* The registered adapters, NULL-terminated (for directive help and errors). */
const b2b_erp_adapter_t *const *b2b_erp_adapters(void);

extern const b2b_erp_adapter_t b2b_erp_http_adapter;

/* Convenience wrappers that dispatch through instance->adapter. */
int b2b_erp_instance_create(const b2b_erp_adapter_t *adapter, const b2b_erp_config_t *config,
                            b2b_erp_instance_t **out, char *err, size_t errlen);
void b2b_erp_submit_order(b2b_erp_instance_t *instance, const b2b_erp_order_t *order,
                          b2b_erp_result_t *out);
void b2b_erp_fetch_stock(b2b_erp_instance_t *instance, const char *since,
                         b2b_erp_stock_cb callback, void *baton, b2b_erp_result_t *out);
void b2b_erp_instance_destroy(b2b_erp_instance_t *instance);   /* NULL is fine */

/* ---- retries ----
 * Delay before the next delivery after `attempt` failed ones (1 after the first failure),
 * "full jitter": uniform in [0, min(cap_ms, base_ms * 2^(attempt-1))], picked by
 * random_u32 (any uniformly random 32-bit value). attempt 0 counts as 1. Pure: no clock,
 * no global state, saturates instead of overflowing. */
uint32_t b2b_erp_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                            uint32_t random_u32);

/* Result helpers, shared by adapters: set outcome/status and a printf-style message. */
void b2b_erp_result_init(b2b_erp_result_t *out);
void b2b_erp_result_fail(b2b_erp_result_t *out, b2b_erp_outcome_t outcome, int http_status,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The outcome an HTTP status means for a delivery (2xx: OK). */
b2b_erp_outcome_t b2b_erp_classify_http(int http_status);

#ifdef __cplusplus
}
#endif
#endif /* B2B_ERP_H */
