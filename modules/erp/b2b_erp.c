/* b2b_erp.c — the adapter registry, the dispatching wrappers, outcome helpers and the
 * retry backoff. Adapters themselves live in b2b_erp_<name>.c. */
#include "b2b_erp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const b2b_erp_adapter_t *const adapters[] = {
    &b2b_erp_http_adapter,
    NULL
};

const b2b_erp_adapter_t *const *b2b_erp_adapters(void)
{
    return adapters;
}

const b2b_erp_adapter_t *b2b_erp_adapter_find(const char *name)
{
    size_t i;
    if (name == NULL)
        return NULL;
    for (i = 0; adapters[i] != NULL; i++) {
        if (strcmp(adapters[i]->name, name) == 0)
            return adapters[i];
    }
    return NULL;
}

const char *b2b_erp_outcome_name(b2b_erp_outcome_t outcome)
{
    switch (outcome) {
    case B2B_ERP_OK: return "ok";
    case B2B_ERP_RETRYABLE: return "retryable";
    case B2B_ERP_PERMANENT: return "permanent";
    }
    return "unknown";
}

int b2b_erp_instance_create(const b2b_erp_adapter_t *adapter, const b2b_erp_config_t *config,
                            b2b_erp_instance_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (adapter == NULL || config == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "no ERP adapter or configuration given");
        return -1;
    }
    return adapter->create(config, out, err, errlen);
}

void b2b_erp_submit_order(b2b_erp_instance_t *instance, const b2b_erp_order_t *order,
                          b2b_erp_result_t *out)
{
    instance->adapter->submit_order(instance, order, out);
}

void b2b_erp_fetch_stock(b2b_erp_instance_t *instance, const char *since,
                         b2b_erp_stock_cb callback, void *baton, b2b_erp_result_t *out)
{
    instance->adapter->fetch_stock(instance, since, callback, baton, out);
}

void b2b_erp_instance_destroy(b2b_erp_instance_t *instance)
{
    if (instance != NULL)
        instance->adapter->destroy(instance);
}

void b2b_erp_result_init(b2b_erp_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = B2B_ERP_OK;
}

void b2b_erp_result_fail(b2b_erp_result_t *out, b2b_erp_outcome_t outcome, int http_status,
                         const char *fmt, ...)
{
    va_list ap;
    char *p;
    out->outcome = outcome;
    out->http_status = http_status;
    out->erp_ref[0] = '\0';
    out->erp_status[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
    /* One line: it ends up in a log line and in outbox.last_error. */
    for (p = out->error; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
}

b2b_erp_outcome_t b2b_erp_classify_http(int http_status)
{
    if (http_status >= 200 && http_status < 300)
        return B2B_ERP_OK;
    /* 408 Request Timeout and 429 Too Many Requests say "later", like every 5xx. */
    if (http_status == 408 || http_status == 429 || http_status >= 500)
        return B2B_ERP_RETRYABLE;
    /* 1xx/3xx (redirects are not followed: a misconfigured URL) and the other 4xx. */
    return B2B_ERP_PERMANENT;
}

uint32_t b2b_erp_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms,
                            uint32_t random_u32)
{
    uint64_t ceiling;
    unsigned shift = attempt > 0 ? attempt - 1 : 0;
    if (base_ms == 0 || cap_ms == 0)
        return 0;
    /* base * 2^shift, saturated at cap without overflowing. */
    if (shift >= 32 || ((uint64_t)base_ms << shift) >= cap_ms)
        ceiling = cap_ms;
    else
        ceiling = (uint64_t)base_ms << shift;
    /* Uniform over 0..ceiling inclusive: scale instead of modulo (no bias to speak of). */
    return (uint32_t)(((uint64_t)random_u32 * (ceiling + 1)) >> 32);
}
