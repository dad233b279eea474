/*
 * b2b_erp_shell.h: private to the Apache side of the ERP integration, which
 * is linked into mod_b2bportal.so: the settings as the directives leave them,
 * the worker tasks (queue drain, stock pull) and the HTTP endpoints, and the
 * SQL the worker and the endpoints share. The ERP client itself (adapters,
 * backoff) is the plain C library in b2b_erp.h.
 */
#ifndef B2B_ERP_SHELL_H
#define B2B_ERP_SHELL_H

#include "b2b_core.h"
#include "b2b_erp.h"
#include "b2b_erp_time.h"

/* Defaults of the B2BErp* directives. */
#define B2B_ERP_DEFAULT_ADAPTER        "http"
#define B2B_ERP_DEFAULT_THREADS        4
#define B2B_ERP_DEFAULT_RETRY_MAX      20
#define B2B_ERP_DEFAULT_RETRY_BASE_MS  1000
#define B2B_ERP_DEFAULT_RETRY_CAP_MS   600000
#define B2B_ERP_DEFAULT_LEASE_S        60
#define B2B_ERP_DEFAULT_CALL_MS        10000
#define B2B_ERP_DEFAULT_STOCK_INTERVAL 30

/* The directives with their defaults applied. */
typedef struct b2b_erp_settings_t {
    const char *adapter;        /* registered adapter name */
    const char *url;            /* NULL: nothing is delivered */
    int drain;                  /* this node delivers (B2BErpDrain) */
    int threads;
    int retry_max;
    int retry_base_ms;
    int retry_cap_ms;
    int lease_s;                /* at least timeout + 5 s, see b2b_erp_settings */
    int timeout_ms;
    int stock_interval_s;       /* 0: no pull */
} b2b_erp_settings_t;

void b2b_erp_settings(server_rec *s, b2b_erp_settings_t *out);


/* b2b_erp_worker.c: the worker tasks. */
void b2b_erp_queue_task(b2b_worker_ctx_t *ctx, void *baton);
void b2b_erp_stock_task(b2b_worker_ctx_t *ctx, void *baton);

/* b2b_erp_endpoints.c */
void b2b_erp_endpoints_register(void);

/* An ISO 8601 UTC rendering of a timestamptz expression, in SQL. */
#define B2B_ERP_TS(x) \
    "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/*
 * Applies stock levels from the ERP (a pull or a push) in one statement.
 * Arguments: a JSON array [{"sku","on_hand","as_of"}] (checked by the
 * caller: integers, ISO 8601 times with a zone) and the source, 'pull' or
 * 'push'. Only a level newer than the one on file is applied: the ERP's
 * as_of decides, not the arrival order, and the same level seen again (a
 * pull's bound is inclusive) does not undo what happened in the portal
 * since. A time in the future counts as now (plus 5 minutes of clock skew):
 * a mistyped year must not freeze a SKU's level. erp_stock keeps the ERP's
 * number as it is; stock.on_hand follows it, clamped to 0..2^31-1. Stock rows are locked
 * in product order, as checkout locks them. Answers: items, known SKUs,
 * levels newer than those on file, stock rows changed, unknown SKUs (the
 * first 20, comma separated), the largest as_of (ISO 8601, '' if none).
 */
#define B2B_ERP_SQL_APPLY_STOCK \
    "WITH items AS (SELECT DISTINCT ON (x.sku) x.sku, x.on_hand, " \
    "  LEAST(x.as_of, now() + interval '5 minutes') AS as_of " \
    "  FROM jsonb_to_recordset(%s::jsonb) AS x (sku text, on_hand bigint, as_of timestamptz) " \
    "  ORDER BY x.sku, x.as_of DESC), " \
    "src AS (SELECT %s::text AS source), " \
    "known AS (SELECT p.id AS product_id, i.on_hand, i.as_of FROM items i " \
    "  JOIN products p ON p.sku = i.sku), " \
    "es AS (INSERT INTO erp_stock AS e (product_id, on_hand, as_of, source, received_at) " \
    "  SELECT k.product_id, k.on_hand, k.as_of, src.source, now() FROM known k, src " \
    "  ORDER BY k.product_id " \
    "  ON CONFLICT (product_id) DO UPDATE SET on_hand = excluded.on_hand, " \
    "    as_of = excluded.as_of, source = excluded.source, received_at = now() " \
    "  WHERE e.as_of < excluded.as_of " \
    "  RETURNING e.product_id, e.on_hand, e.as_of), " \
    "st AS (INSERT INTO stock AS s (product_id, on_hand, erp_as_of) " \
    "  SELECT es.product_id, LEAST(GREATEST(es.on_hand, 0), 2147483647)::int, es.as_of " \
    "  FROM es ORDER BY es.product_id " \
    "  ON CONFLICT (product_id) DO UPDATE SET on_hand = excluded.on_hand, " \
    "    erp_as_of = excluded.erp_as_of " \
    "  WHERE s.erp_as_of IS NULL OR s.erp_as_of < excluded.erp_as_of " \
    "  RETURNING s.product_id) " \
    "SELECT (SELECT count(*) FROM items)::text, (SELECT count(*) FROM known)::text, " \
    "(SELECT count(*) FROM es)::text, (SELECT count(*) FROM st)::text, " \
    "coalesce((SELECT string_agg(u.sku, ',') FROM (SELECT i.sku FROM items i " \
    "  WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = i.sku) " \
    "  ORDER BY i.sku LIMIT 20) u), ''), " \
    "coalesce(" B2B_ERP_TS("(SELECT max(as_of) FROM items)") ", '')"

/*
 * A reservation becomes a sale when the ERP accepts the order: the units
 * checkout reserved (order_lines.reserved_qty, where the orders schema has
 * it) leave both reserved and on_hand, so what the portal offers does not
 * change until the ERP's next level arrives. "accepted" is a CTE of the
 * orders just accepted (column id). Stock rows are locked in product order.
 */
#define B2B_ERP_SQL_RELEASE(accepted) \
    "rel AS (SELECT l.product_id, sum((to_jsonb(l) ->> 'reserved_qty')::bigint) AS qty " \
    "  FROM order_lines l JOIN " accepted " a ON l.order_id = a.id GROUP BY l.product_id), " \
    "locked AS (SELECT s.product_id, rel.qty FROM stock s JOIN rel ON rel.product_id = s.product_id " \
    "  WHERE rel.qty > 0 ORDER BY s.product_id FOR UPDATE OF s), " \
    "sold AS (UPDATE stock s SET reserved = GREATEST(s.reserved - locked.qty, 0)::int, " \
    "  on_hand = GREATEST(s.on_hand - locked.qty, 0)::int " \
    "  FROM locked WHERE s.product_id = locked.product_id) "

#endif
