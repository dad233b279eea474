#!/usr/bin/env bash
# ERP queue benchmarks against a healthy simulator.
#   run.sh ceiling   the simulator alone: orders/s through the same C adapter the
#                    worker uses, with 1, 4 and 8 client threads (what any drain
#                    could reach here)
#   run.sh drain     a backlog of 10,000 orders drained by the worker with 1, 4 and 8
#                    delivery threads (B2BErpThreads, set by a graceful restart):
#                    seconds from release to the last delivery, orders/s, against
#                    the ceiling measured just before with as many threads
# Environment: BENCH_ERP_ORDERS (10000), BENCH_ERP_THREADS ("1 4 8"),
# BENCH_ERP_CEILING_ORDERS (1500). Needs a running instance (scripts/bench.sh
# starts one; scripts/env.sh names it) with its ERP simulator.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ ${1:-} == --list ]] && { echo "ceiling drain"; exit 0; }
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh" "${B2B_INSTANCE:-bench}"

orders=${BENCH_ERP_ORDERS:-10000}
threads_list=${BENCH_ERP_THREADS:-1 4 8}
ceiling_orders=${BENCH_ERP_CEILING_ORDERS:-1500}
erp=http://127.0.0.1:$B2B_ERP_PORT
url=http://127.0.0.1:$B2B_HTTP_PORT
target=30

# The simulator driven directly: bench/erp/sim_ceiling.c with the ERP library.
ceiling_bin=$root/build/bench/erp_sim_ceiling
build_ceiling() {
    mkdir -p "$(dirname "$ceiling_bin")"
    cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -I"$root/modules/erp" \
        -o "$ceiling_bin" "$here/sim_ceiling.c" "$root/modules/erp/b2b_erp.c" \
        "$root/modules/erp/b2b_erp_http.c" -lcurl -ljansson -lpthread
}
ceiling_rate() {   # threads -> orders/s
    local line
    line=$("$ceiling_bin" "$erp" "$1" "$ceiling_orders" "bench-ceiling-$$-$1-$RANDOM-") || {
        echo "ceiling: the simulator failed some orders" >&2; return 1; }
    sed -E 's/.*rate=([0-9.]+).*/\1/' <<<"$line"
}
sim_reset() { curl -fsS -m 10 -X POST "$erp/_sim/reset" >/dev/null; }

status_threads() {
    curl -fsS -m 5 -u portal-admin:demo "$url/api/v1/admin/status" 2>/dev/null \
        | sed -nE 's/.*"erp":\{[^}]*"threads":([0-9]+).*/\1/p'
}

# The instance's httpd with B2BErpThreads $1 (graceful restart: new worker).
extra_orig=${B2B_EXTRA_CONF:-}
set_threads() {
    local conf=$B2B_VAR/bench-erp-extra.conf i
    { [[ -n $extra_orig && -f $extra_orig ]] && cat "$extra_orig"; echo "B2BErpThreads $1"; } >"$conf"
    B2B_EXTRA_CONF=$conf bash "$root/scripts/httpd.sh" graceful "$B2B_INSTANCE" >/dev/null
    for ((i = 0; i < 100; i++)); do
        [[ $(status_threads) == "$1" ]] && return 0
        sleep 0.2
    done
    echo "drain: the worker did not come back with $1 thread(s)" >&2
    return 1
}
restore_threads() {
    B2B_EXTRA_CONF=$extra_orig bash "$root/scripts/httpd.sh" graceful "$B2B_INSTANCE" >/dev/null 2>&1 || true
}

# $1 orders held in the queue (as checkout leaves them, due in an hour).
make_backlog() {
    local rcol='' rval=''
    # with the orders schema (030): the unit is reserved, as checkout does
    if [[ $(b2b_psql -At -c "SELECT count(*) FROM information_schema.columns
            WHERE table_name = 'order_lines' AND column_name = 'reserved_qty'") == 1 ]]; then
        rcol=', reserved_qty' rval=', 1'
    fi
    b2b_psql -At -c "
WITH a AS (SELECT id FROM accounts WHERE code = 'ACME-NA'),
u AS (SELECT id FROM users WHERE username = 'na-buyer'),
p AS (SELECT id, sku FROM products WHERE sku = 'SKU-01950'),
o AS (INSERT INTO orders (account_id, user_id, po_number, idempotency_key, status, currency,
                          net_minor, tax_minor, gross_minor)
      SELECT a.id, u.id, 'PO-BENCH-' || g, 'bench-erp-$$-$RANDOM-' || g, 'queued', 'USD', 1725, 0, 1725
      FROM a, u, generate_series(1, $1) g RETURNING id),
l AS (INSERT INTO order_lines (order_id, line_no, product_id, sku, qty, unit_price_minor,
                               net_minor, tax_minor, gross_minor$rcol)
      SELECT o.id, 1, p.id, p.sku, 1, 1725, 1725, 0, 1725$rval FROM o, p),
h AS (INSERT INTO order_history (order_id, status) SELECT id, 'queued' FROM o),
b AS (INSERT INTO outbox (order_id, next_attempt_at) SELECT id, now() + interval '1 hour' FROM o)
SELECT min(id) || ' ' || max(id) FROM o"
}

case ${1:-drain} in
ceiling)
    build_ceiling
    sim_reset
    echo "the ERP simulator alone, $ceiling_orders orders per run, one kept-alive connection per thread"
    for t in $threads_list; do
        printf 'ceiling threads=%-2s %6s orders/s\n' "$t" "$(ceiling_rate "$t")"
    done
    ;;
drain)
    build_ceiling
    trap restore_threads EXIT
    echo "backlog of $orders orders (one line each) drained to a healthy simulator; target <= ${target} s"
    for t in $threads_list; do
        set_threads "$t"
        sim_reset
        ceiling=$(ceiling_rate "$t")
        read -r lo hi < <(make_backlog "$orders")
        b2b_psql -q -c "VACUUM ANALYZE outbox, orders" 2>/dev/null || true
        # the clock starts when the backlog becomes due (the database's clock,
        # like delivered_at)
        t0=$(b2b_psql -At -c "WITH u AS (UPDATE outbox SET next_attempt_at = now()
                                         WHERE order_id BETWEEN $lo AND $hi RETURNING 1)
                              SELECT extract(epoch FROM now()) FROM (SELECT count(*) FROM u) x")
        deadline=$((SECONDS + 300))
        while (( SECONDS < deadline )); do
            left=$(b2b_psql -At -c "SELECT count(*) FROM outbox WHERE order_id BETWEEN $lo AND $hi
                                    AND state IN ('pending', 'in_flight')")
            [[ $left == 0 ]] && break
            sleep 1
        done
        read -r secs done_n dead_n retried < <(b2b_psql -At -F ' ' -c "
            SELECT round((extract(epoch FROM max(delivered_at)) - $t0)::numeric, 2),
                   count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'dead'),
                   count(*) FILTER (WHERE attempts > 1)
            FROM outbox WHERE order_id BETWEEN $lo AND $hi")
        rate=$(awk -v n="$done_n" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
        ratio=$(awk -v a="$rate" -v b="$ceiling" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        verdict=$(awk -v s="$secs" -v t="$target" 'BEGIN { print (s <= t ? "met" : "missed") }')
        printf 'drain threads=%-2s %s/%s delivered in %6.2f s = %5s orders/s; simulator alone %5s/s (ratio %s); dead %s, retried %s; target %s\n' \
            "$t" "$done_n" "$orders" "$secs" "$rate" "$ceiling" "$ratio" "$dead_n" "$retried" "$verdict"
        # the next round starts from the same queue size
        b2b_psql -q -c "DELETE FROM orders WHERE id BETWEEN $lo AND $hi" >/dev/null
    done
    ;;
*) echo "usage: $0 --list | ceiling | drain" >&2; exit 2 ;;
esac
