/* test_order_state.c: unit tests of the order state machine (TAP). */
#include "b2b_order_state.h"
#include "../../../tests/tap.h"

static void test_names(void)
{
    int i;
    for (i = 0; i < B2B_ORDER_STATUS_COUNT; i++) {
        is_num(b2b_order_status_parse(b2b_order_status_name((b2b_order_status_t)i)), i,
               b2b_order_status_name((b2b_order_status_t)i));
    }
    for (i = 0; i < B2B_EVENT_COUNT; i++) {
        is_num(b2b_order_event_parse(b2b_order_event_name((b2b_order_event_t)i)), i,
               b2b_order_event_name((b2b_order_event_t)i));
    }
    is_num(b2b_order_status_parse("Queued"), B2B_ORDER_INVALID, "status names are exact");
    is_num(b2b_order_status_parse(NULL), B2B_ORDER_INVALID, "NULL status");
    is_num(b2b_order_event_parse("delete"), B2B_EVENT_INVALID, "unknown event");
}

static void test_buyer_and_approver(void)
{
    is_num(b2b_order_next(B2B_ORDER_PENDING_APPROVAL, B2B_EVENT_APPROVE), B2B_ORDER_QUEUED,
           "approve a pending order -> queued");
    is_num(b2b_order_next(B2B_ORDER_PENDING_APPROVAL, B2B_EVENT_REJECT), B2B_ORDER_REJECTED,
           "reject a pending order -> rejected");
    is_num(b2b_order_next(B2B_ORDER_PENDING_APPROVAL, B2B_EVENT_CANCEL), B2B_ORDER_CANCELLED,
           "cancel a pending order");
    is_num(b2b_order_next(B2B_ORDER_QUEUED, B2B_EVENT_CANCEL), B2B_ORDER_CANCELLED,
           "cancel a queued order");
    is_num(b2b_order_next(B2B_ORDER_FAILED, B2B_EVENT_CANCEL), B2B_ORDER_CANCELLED,
           "cancel a dead letter");
    is_num(b2b_order_next(B2B_ORDER_FAILED, B2B_EVENT_RETRY), B2B_ORDER_QUEUED,
           "retry a dead letter");
}

static void test_every_illegal(void)
{
    /* approve and reject only from pending_approval; cancel only before the ERP */
    int s, illegal = 0, legal = 0;
    for (s = 0; s < B2B_ORDER_STATUS_COUNT; s++) {
        b2b_order_status_t st = (b2b_order_status_t)s;
        if (st != B2B_ORDER_PENDING_APPROVAL) {
            illegal += b2b_order_next(st, B2B_EVENT_APPROVE) == B2B_ORDER_INVALID;
            illegal += b2b_order_next(st, B2B_EVENT_REJECT) == B2B_ORDER_INVALID;
        }
        if (st != B2B_ORDER_PENDING_APPROVAL && st != B2B_ORDER_QUEUED
            && st != B2B_ORDER_FAILED) {
            illegal += b2b_order_next(st, B2B_EVENT_CANCEL) == B2B_ORDER_INVALID;
        }
        else {
            legal += b2b_order_next(st, B2B_EVENT_CANCEL) == B2B_ORDER_CANCELLED;
        }
    }
    is_num(illegal, 9 * 2 + 7, "every illegal approve/reject/cancel is refused");
    is_num(legal, 3, "cancel is legal from exactly three statuses");
    is_num(b2b_order_next(B2B_ORDER_INVALID, B2B_EVENT_APPROVE), B2B_ORDER_INVALID,
           "invalid status");
    is_num(b2b_order_next(B2B_ORDER_QUEUED, B2B_EVENT_INVALID), B2B_ORDER_INVALID,
           "invalid event");
}

static void test_erp_path(void)
{
    is_num(b2b_order_next(B2B_ORDER_QUEUED, B2B_EVENT_SUBMIT), B2B_ORDER_SUBMITTED, "submit");
    is_num(b2b_order_next(B2B_ORDER_SUBMITTED, B2B_EVENT_CONFIRM), B2B_ORDER_CONFIRMED, "confirm");
    is_num(b2b_order_next(B2B_ORDER_CONFIRMED, B2B_EVENT_BACKORDER), B2B_ORDER_BACKORDERED,
           "backorder after confirm");
    is_num(b2b_order_next(B2B_ORDER_BACKORDERED, B2B_EVENT_SHIP), B2B_ORDER_SHIPPED, "ship");
    is_num(b2b_order_next(B2B_ORDER_SHIPPED, B2B_EVENT_INVOICE), B2B_ORDER_INVOICED, "invoice");
    is_num(b2b_order_next(B2B_ORDER_PENDING_APPROVAL, B2B_EVENT_SUBMIT), B2B_ORDER_INVALID,
           "an unapproved order is never submitted");
    is_num(b2b_order_next(B2B_ORDER_SHIPPED, B2B_EVENT_CONFIRM), B2B_ORDER_INVALID,
           "no going back from shipped");
}

static void test_sources_and_flags(void)
{
    is_str(b2b_order_event_sources(B2B_EVENT_APPROVE), "{pending_approval}", "approve sources");
    is_str(b2b_order_event_sources(B2B_EVENT_CANCEL), "{pending_approval,queued,failed}",
           "cancel sources");
    is_str(b2b_order_event_sources(B2B_EVENT_INVOICE), "{submitted,confirmed,backordered,shipped}",
           "invoice sources");
    ok(b2b_order_event_sources(B2B_EVENT_INVALID) == NULL, "no sources for an invalid event");
    ok(b2b_order_status_terminal(B2B_ORDER_REJECTED), "rejected is terminal");
    ok(b2b_order_status_terminal(B2B_ORDER_CANCELLED), "cancelled is terminal");
    ok(b2b_order_status_terminal(B2B_ORDER_INVOICED), "invoiced is terminal");
    ok(!b2b_order_status_terminal(B2B_ORDER_FAILED), "failed is not terminal");
    ok(b2b_order_event_releases(B2B_EVENT_REJECT) && b2b_order_event_releases(B2B_EVENT_CANCEL),
       "reject and cancel release stock and credit");
    ok(!b2b_order_event_releases(B2B_EVENT_APPROVE), "approve keeps them");
    ok(b2b_order_event_enqueues(B2B_EVENT_APPROVE), "approve enqueues");
}

int main(void)
{
    test_names();
    test_buyer_and_approver();
    test_every_illegal();
    test_erp_path();
    test_sources_and_flags();
    return tap_done();
}
