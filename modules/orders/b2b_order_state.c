/*
 * b2b_order_state.c: the order state machine (see b2b_order_state.h).
 * One table, read by the portal (approve, reject, cancel), by the worker
 * (submit, fail) and by the ERP status endpoint (confirm ... invoice).
 */
#include "b2b_order_state.h"

#include <string.h>

#define N B2B_ORDER_INVALID

static const char *const status_names[B2B_ORDER_STATUS_COUNT] = {
    "pending_approval", "queued", "submitted", "confirmed", "backordered",
    "shipped", "invoiced", "rejected", "cancelled", "failed"
};

static const char *const event_names[B2B_EVENT_COUNT] = {
    "approve", "reject", "cancel", "submit", "confirm", "backorder", "ship",
    "invoice", "fail", "retry"
};

/* next[from][event]; N = illegal. */
static const b2b_order_status_t next_status[B2B_ORDER_STATUS_COUNT][B2B_EVENT_COUNT] = {
    /*                 approve                  reject                 cancel                  submit                 confirm                  backorder                 ship                  invoice                fail                  retry */
    /* pending  */ { B2B_ORDER_QUEUED,     B2B_ORDER_REJECTED, B2B_ORDER_CANCELLED, N,                   N,                   N,                     N,                  N,                  N,                N },
    /* queued   */ { N,                    N,                  B2B_ORDER_CANCELLED, B2B_ORDER_SUBMITTED, N,                   N,                     N,                  N,                  B2B_ORDER_FAILED, N },
    /* submitted*/ { N,                    N,                  N,                   N,                   B2B_ORDER_CONFIRMED, B2B_ORDER_BACKORDERED, B2B_ORDER_SHIPPED,  B2B_ORDER_INVOICED, B2B_ORDER_FAILED, N },
    /* confirmed*/ { N,                    N,                  N,                   N,                   N,                   B2B_ORDER_BACKORDERED, B2B_ORDER_SHIPPED,  B2B_ORDER_INVOICED, N,                N },
    /* backord. */ { N,                    N,                  N,                   N,                   B2B_ORDER_CONFIRMED, N,                     B2B_ORDER_SHIPPED,  B2B_ORDER_INVOICED, N,                N },
    /* shipped  */ { N,                    N,                  N,                   N,                   N,                   N,                     N,                  B2B_ORDER_INVOICED, N,                N },
    /* invoiced */ { N,                    N,                  N,                   N,                   N,                   N,                     N,                  N,                  N,                N },
    /* rejected */ { N,                    N,                  N,                   N,                   N,                   N,                     N,                  N,                  N,                N },
    /* cancelled*/ { N,                    N,                  N,                   N,                   N,                   N,                     N,                  N,                  N,                N },
    /* failed   */ { N,                    N,                  B2B_ORDER_CANCELLED, N,                   N,                   N,                     N,                  N,                  N,                B2B_ORDER_QUEUED }
};

/* "{a,b,c}" per event, built once from the table. */
static char sources[B2B_EVENT_COUNT][160];
static int sources_built;

const char *b2b_order_status_name(b2b_order_status_t status)
{
    return (unsigned)status < B2B_ORDER_STATUS_COUNT ? status_names[status] : "invalid";
}

b2b_order_status_t b2b_order_status_parse(const char *s)
{
    int i;
    if (!s) {
        return B2B_ORDER_INVALID;
    }
    for (i = 0; i < B2B_ORDER_STATUS_COUNT; i++) {
        if (!strcmp(s, status_names[i])) {
            return (b2b_order_status_t)i;
        }
    }
    return B2B_ORDER_INVALID;
}

const char *b2b_order_event_name(b2b_order_event_t event)
{
    return (unsigned)event < B2B_EVENT_COUNT ? event_names[event] : "invalid";
}

b2b_order_event_t b2b_order_event_parse(const char *s)
{
    int i;
    if (!s) {
        return B2B_EVENT_INVALID;
    }
    for (i = 0; i < B2B_EVENT_COUNT; i++) {
        if (!strcmp(s, event_names[i])) {
            return (b2b_order_event_t)i;
        }
    }
    return B2B_EVENT_INVALID;
}

b2b_order_status_t b2b_order_next(b2b_order_status_t from, b2b_order_event_t event)
{
    if ((unsigned)from >= B2B_ORDER_STATUS_COUNT || (unsigned)event >= B2B_EVENT_COUNT) {
        return B2B_ORDER_INVALID;
    }
    return next_status[from][event];
}

static void build_sources(void)
{
    int e, s;
    for (e = 0; e < B2B_EVENT_COUNT; e++) {
        size_t n = 0;
        sources[e][n++] = '{';
        for (s = 0; s < B2B_ORDER_STATUS_COUNT; s++) {
            if (next_status[s][e] != N) {
                size_t len = strlen(status_names[s]);
                if (n > 1) {
                    sources[e][n++] = ',';
                }
                memcpy(sources[e] + n, status_names[s], len);
                n += len;
            }
        }
        sources[e][n++] = '}';
        sources[e][n] = '\0';
    }
}

const char *b2b_order_event_sources(b2b_order_event_t event)
{
    if ((unsigned)event >= B2B_EVENT_COUNT) {
        return NULL;
    }
    /* Idempotent and deterministic: racing first calls write the same bytes;
     * the module calls it once at start-up before any thread exists. */
    if (!sources_built) {
        build_sources();
        sources_built = 1;
    }
    return sources[event];
}

int b2b_order_status_terminal(b2b_order_status_t status)
{
    int e;
    if ((unsigned)status >= B2B_ORDER_STATUS_COUNT) {
        return 0;
    }
    for (e = 0; e < B2B_EVENT_COUNT; e++) {
        if (next_status[status][e] != N) {
            return 0;
        }
    }
    return 1;
}

int b2b_order_event_releases(b2b_order_event_t event)
{
    return event == B2B_EVENT_REJECT || event == B2B_EVENT_CANCEL;
}

int b2b_order_event_enqueues(b2b_order_event_t event)
{
    return event == B2B_EVENT_APPROVE || event == B2B_EVENT_RETRY;
}
