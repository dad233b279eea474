#!/usr/bin/env bash
# Pricing benchmarks over HTTP (the resolver alone is `make pricing-bench-resolver`).
#   run.sh http          quote throughput and p99 against a trivial JSON handler
#                        (ceiling), one primary-key SELECT through mod_dbd, and the
#                        SQL reference resolver (baseline), all in the same httpd
#   run.sh propagation   rule change on node 1 -> new price on node 2, p50/p99 ms
# Needs the bench instance that scripts/bench.sh starts (env from scripts/env.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LIB=$here/../lib
[[ ${1:-} == --list ]] && { echo "http propagation"; exit 0; }
url=http://127.0.0.1:$B2B_HTTP_PORT
conns=${BENCH_CONNECTIONS:-32}; secs=${BENCH_SECONDS:-10}

run_wrk() {   # name script [env...]
    local name=$1 script=$2; shift 2
    local line
    # warm up: each httpd process pays bcrypt once per user, and caches fill
    env "$@" wrk -t1 -c"$conns" -d2s -s "$script" "$url" >/dev/null 2>&1 || true
    line=$(env "$@" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$script" "$url" \
           | grep '^RESULT') || { echo "$name: wrk failed" >&2; return 1; }
    printf '%-28s %s\n' "$name" "${line#RESULT }"
    eval "${name//-/_}_rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")"
    eval "${name//-/_}_p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")"
}
# A second httpd on the same database and Redis: node NAME PORT [extra conf lines]
node() {
    local name=$1 port=$2; shift 2
    local extra=$B2B_VAR/../$name-extra.conf
    mkdir -p "$(dirname "$extra")"
    { echo "B2BDiagnostics On"; echo "B2BPricingShmSize 512M"; printf '%s\n' "$@"; } >"$extra"
    env B2B_INSTANCE="$name" B2B_HTTP_PORT="$port" B2B_VAR="$B2B_VAR/../$name" \
        B2B_DBD_PARAMS= B2B_EXTRA_CONF="$extra" \
        bash "$here/../../scripts/httpd.sh" "${NODE_CMD:-start}" "$name" >/dev/null
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

case ${1:-http} in
http)
    echo "wrk -t1 -c$conns -d${secs}s, authenticated as bench-00001 (BENCH-00001), random SKU of 50,000"
    run_wrk ceiling-json "$here/get.lua" BENCH_PATH=/api/v1/_ping
    run_wrk pk-select "$here/get.lua" 'BENCH_PATH=/api/v1/_pk/{sku}'
    run_wrk quote "$here/quote.lua"
    echo "quote / trivial JSON handler:  $(ratio "$quote_rps" "$ceiling_json_rps")  (target >= 0.80)"
    echo "quote / one PK SELECT:         $(ratio "$quote_rps" "$pk_select_rps")  (target >= 1.50)"
    # the baseline: the same endpoint computing prices in SQL on every request
    node bench-sql 8083 "B2BPricingEngine sql"
    trap 'NODE_CMD=stop node bench-sql 8083' EXIT
    url=http://127.0.0.1:8083 run_wrk quote-sql-reference "$here/quote.lua"
    echo "quote / SQL reference:         $(ratio "$quote_rps" "$quote_sql_reference_rps")  (how much the snapshot saves)"
    ;;
propagation)
    node bench-node2 8082
    trap 'NODE_CMD=stop node bench-node2 8082' EXIT
    "$here/../lib/wait-pricing.sh" http://127.0.0.1:8082 120 >/dev/null
    NODE1=$url NODE2=http://127.0.0.1:8082 perl "$here/propagation.pl"
    # Redis down: both nodes fall back to polling the rules version (default 5 s)
    bash "$here/../../scripts/services.sh" stop "$B2B_INSTANCE" redis >/dev/null
    trap 'bash "$here/../../scripts/services.sh" start "$B2B_INSTANCE" redis >/dev/null;
          NODE_CMD=stop node bench-node2 8082' EXIT
    REDIS_DOWN=5 BENCH_CHANGES=${BENCH_CHANGES_DOWN:-10} NODE1=$url \
        NODE2=http://127.0.0.1:8082 perl "$here/propagation.pl"
    ;;
esac
