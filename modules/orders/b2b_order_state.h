/*
 * b2b_order_state.h: the order state machine, plain C. Every status change
 * of an order (buyer and approver actions here, ERP reports in the worker)
 * is an event; this table says which events are legal from which status and
 * where they lead. The Apache side turns the answer into a conditional
 * UPDATE (status = ANY(sources)), so two racing actions cannot both win.
 *
 *   pending_approval --approve--> queued --submit--> submitted --confirm--> confirmed
 *          |  \--reject--> rejected      \                 \--backorder--> backordered
 *          \--cancel--> cancelled         \--fail--> failed --retry--> queued
 *   queued, failed --cancel--> cancelled
 *   submitted, confirmed, backordered --ship--> shipped --invoice--> invoiced
 */
#ifndef B2B_ORDER_STATE_H
#define B2B_ORDER_STATE_H

#include <stddef.h>

typedef enum {
    B2B_ORDER_INVALID = -1,
    B2B_ORDER_PENDING_APPROVAL = 0,
    B2B_ORDER_QUEUED,
    B2B_ORDER_SUBMITTED,
    B2B_ORDER_CONFIRMED,
    B2B_ORDER_BACKORDERED,
    B2B_ORDER_SHIPPED,
    B2B_ORDER_INVOICED,
    B2B_ORDER_REJECTED,
    B2B_ORDER_CANCELLED,
    B2B_ORDER_FAILED,
    B2B_ORDER_STATUS_COUNT
} b2b_order_status_t;

typedef enum {
    B2B_EVENT_INVALID = -1,
    B2B_EVENT_APPROVE = 0,   /* approver: pending_approval -> queued */
    B2B_EVENT_REJECT,        /* approver: pending_approval -> rejected */
    B2B_EVENT_CANCEL,        /* buyer or approver, before the ERP has it */
    B2B_EVENT_SUBMIT,        /* worker: delivered to the ERP */
    B2B_EVENT_CONFIRM,       /* ERP reports */
    B2B_EVENT_BACKORDER,
    B2B_EVENT_SHIP,
    B2B_EVENT_INVOICE,
    B2B_EVENT_FAIL,          /* worker: dead letter */
    B2B_EVENT_RETRY,         /* admin: dead letter back to the queue */
    B2B_EVENT_COUNT
} b2b_order_event_t;

const char *b2b_order_status_name(b2b_order_status_t status);   /* "queued" */
b2b_order_status_t b2b_order_status_parse(const char *s);       /* or INVALID */
const char *b2b_order_event_name(b2b_order_event_t event);      /* "approve" */
b2b_order_event_t b2b_order_event_parse(const char *s);

/* Where the event leads from `from`, or B2B_ORDER_INVALID if illegal. */
b2b_order_status_t b2b_order_next(b2b_order_status_t from, b2b_order_event_t event);

/* The statuses the event is legal from, as a PostgreSQL text[] literal,
 * e.g. "{pending_approval,queued,failed}"; NULL for an invalid event. */
const char *b2b_order_event_sources(b2b_order_event_t event);

/* No event leaves these. */
int b2b_order_status_terminal(b2b_order_status_t status);

/* Whether the event gives back what checkout took (stock reservations and
 * the credit charge): reject and cancel. */
int b2b_order_event_releases(b2b_order_event_t event);

/* Whether the order enters the ERP queue (an outbox row) by this event. */
int b2b_order_event_enqueues(b2b_order_event_t event);

#endif
