#!/usr/bin/env bash
# `make bench`: a benchmark instance at production scale (50,000 products,
# 10,000 accounts, 1,000,000 contract rules), then every benchmark in
# bench/. Each prints its figures and ratios against ceilings measured in
# the same run. The instance stays down afterwards.
#   B2B_BENCH="pricing-resolver pricing-http pricing-propagation"  a subset
set -euo pipefail
cd "$(dirname "$0")/.."
export B2B_INSTANCE=bench
export B2B_PG_PORT=${B2B_BENCH_PG_PORT:-5435} B2B_REDIS_PORT=${B2B_BENCH_REDIS_PORT:-6382}
export B2B_ERP_PORT=${B2B_BENCH_ERP_PORT:-8098} B2B_HTTP_PORT=${B2B_BENCH_HTTP_PORT:-8081}
# shellcheck source=scripts/env.sh
. scripts/env.sh bench
b2b_prepare_var

cleanup() { scripts/services.sh stop bench >/dev/null 2>&1 || true; }
trap cleanup EXIT

want() { [[ -z ${B2B_BENCH:-} || " $B2B_BENCH " == *" $1 "* ]]; }

if want pricing-resolver; then
    echo "== pricing: resolver alone (pure C, one core) =="
    make -s pricing-bench-resolver
fi

scripts/services.sh start bench pg redis erp
scripts/migrate.sh bench
# Durable commits for benchmarks that claim them (pg.sh only relaxes "test").
have=$(b2b_psql -At -c "SELECT count(*) FROM price_rules WHERE kind = 'contract'" 2>/dev/null || echo 0)
if (( have < 1000000 )); then
    scripts/load-demo.sh bench --reset --products 50000 --accounts 10000 --contracts 1000000
fi

# Diagnostics routes (the ceilings) and room for a million-rule snapshot.
export B2B_EXTRA_CONF=$B2B_VAR/bench-extra.conf
cat >"$B2B_EXTRA_CONF" <<CONF
B2BDiagnostics On
B2BPricingShmSize 512M
CONF
scripts/services.sh start bench httpd
bench/lib/wait-pricing.sh "http://127.0.0.1:$B2B_HTTP_PORT" 120

for b in bench/*/run.sh; do
    name=$(basename "$(dirname "$b")")
    for part in $(bash "$b" --list); do
        want "$name-$part" || continue
        echo
        echo "== $name: $part =="
        bash "$b" "$part"
    done
done
