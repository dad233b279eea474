#!/usr/bin/env bash
# Catalog benchmark: one 24-card catalog page with prices for na-buyer
# (ACME-NA) on the 50,000-product bench catalog, three ways, in one httpd:
#   (a) fast    GET /api/v1/catalog/products?per_page=24: read model, shared
#               content cache, prices from the pricing snapshot (warm)
#   (b) naive   GET /api/v1/_bench/catalog-naive?per_page=24: the same page from
#               the normalised tables on every request (category path walked,
#               access rules applied, sorted and counted, each card priced by the
#               SQL reference resolver b2b_price_reference)
#   (c) static  a static file with the bytes of (a)'s answer: the ceiling
# Prints requests/s, p50 and p99 of each (median of BENCH_RUNS runs) and the
# ratios the issue asks for.
#   run.sh --list | page
# Needs the bench instance scripts/bench.sh starts (make bench-catalog).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LIB=$here/../lib
[[ ${1:-} == --list ]] && { echo "page"; exit 0; }
# b2b_psql and the instance's settings (scripts/bench.sh exported the instance)
# shellcheck source=../../scripts/env.sh
. "$here/../../scripts/env.sh" "${B2B_INSTANCE:-bench}"

conns=${BENCH_CONNECTIONS:-32}; secs=${BENCH_SECONDS:-10}; runs=${BENCH_RUNS:-3}
# the naive page takes the better part of a second alone: 32 at once queue for
# seconds, so it runs longer, with a timeout far above its latency
naive_secs=${BENCH_NAIVE_SECONDS:-30}
port=${B2B_CATALOG_BENCH_PORT:-$((B2B_HTTP_PORT + 5))}
url=http://127.0.0.1:$port
node_name=bench-catalog
node_var=$B2B_VAR/../$node_name
static_dir=$node_var-static
extra=$node_var-extra.conf
export BENCH_USER=na-buyer BENCH_PASSWORD=demo

# Our own httpd on the bench database: the diagnostics route (b) and the
# static file (c) beside the real endpoint (a).
mkdir -p "$static_dir" "$(dirname "$extra")"
chmod 755 "$static_dir"
cat >"$extra" <<CONF
B2BDiagnostics On
B2BPricingShmSize 512M
Alias /bench-static "$static_dir"
<Directory "$static_dir">
    Require all granted
</Directory>
CONF
node() {
    env B2B_INSTANCE="$node_name" B2B_HTTP_PORT="$port" B2B_VAR="$node_var" \
        B2B_DBD_PARAMS= B2B_EXTRA_CONF="$extra" \
        bash "$here/../../scripts/httpd.sh" "$1" "$node_name" >/dev/null
}
node start
trap 'node stop' EXIT
"$BENCH_LIB/wait-pricing.sh" "$url" 120

products=$(b2b_psql -At -c "SELECT count(*) FROM catalog_cards")
fast_path=/api/v1/catalog/products?per_page=24
naive_path=/api/v1/_bench/catalog-naive?per_page=24
curl -fsS -u na-buyer:demo "$url$fast_path" >"$static_dir/page.json"
bytes=$(stat -c %s "$static_dir/page.json")
chmod 644 "$static_dir/page.json"

# The two paths must serve the same page: same SKUs, same prices.
same=$(curl -fsS -u na-buyer:demo "$url$naive_path" | perl -MJSON::PP -e '
    my $n = decode_json(join "", <STDIN>);
    open my $f, "<", $ARGV[0] or die; my $a = decode_json(join "", <$f>);
    my $k = sub { join ",", map { "$_->{sku}=$_->{price}{amount}$_->{price}{currency}" } @{ $_[0]{items} } };
    print $k->($a) eq $k->($n) && $a->{total} == $n->{total} ? "yes" : "NO";
' "$static_dir/page.json")

echo "catalog: $products cards; page of 24 for na-buyer (ACME-NA): $bytes bytes"
echo "fast and naive paths serve the same 24 SKUs, prices and total: $same"
echo "wrk -t1 -c$conns -d${secs}s (naive -d${naive_secs}s), median of $runs runs each; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"

# Requests wrk gave up on at the end of a run still run in PostgreSQL: wait
# for them before the next measurement.
drain() {
    local i
    for ((i = 0; i < 120; i++)); do
        [[ $(b2b_psql -At -c "SELECT count(*) FROM pg_stat_activity
                               WHERE state = 'active' AND pid <> pg_backend_pid()
                                 AND query LIKE '%b2b_price_reference%'") == 0 ]] && return 0
        sleep 0.5
    done
}

measure() {   # name path noauth seconds connections
    local name=$1 path=$2 noauth=$3 d=$4 c=$5 i line
    local -a rps=() p50=() p99=() errs=()
    # warm up (the naive path has nothing to warm: one request)
    BENCH_PATH=$path BENCH_NOAUTH=$noauth wrk -t1 -c"$c" -d"$([[ $name == naive* ]] && echo 1 || echo 2)s" \
        --timeout 120s -s "$here/page.lua" "$url" >/dev/null 2>&1 || true
    drain
    for ((i = 0; i < runs; i++)); do
        line=$(BENCH_PATH=$path BENCH_NOAUTH=$noauth wrk -t1 -c"$c" -d"${d}s" --timeout 120s --latency \
               -s "$here/page.lua" "$url" | grep '^RESULT') || { echo "$name: wrk failed" >&2; return 1; }
        drain
        rps+=("$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")")
        p50+=("$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")")
        p99+=("$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")")
        errs+=("$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")")
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    printf -v "${name}_rps" '%s' "$(med "${rps[@]}")"
    printf -v "${name}_p50" '%s' "$(med "${p50[@]}")"
    printf -v "${name}_p99" '%s' "$(med "${p99[@]}")"
    printf '%-8s %10.1f req/s   p50 %8.2f ms   p99 %8.2f ms   errors %s   (runs: %s req/s)\n' \
        "$name" "$(med "${rps[@]}")" "$(med "${p50[@]}")" "$(med "${p99[@]}")" \
        "$(IFS=+; echo "${errs[*]}")" "${rps[*]}"
}
echo "-- $conns connections"
measure static /bench-static/page.json 1 "$secs" "$conns"
measure fast "$fast_path" 0 "$secs" "$conns"
measure naive "$naive_path" 0 "$naive_secs" "$conns"
# unloaded latency, for scale
runs=1
echo "-- 1 connection (latency of one request alone)"
measure fast1 "$fast_path" 0 5 1
measure naive1 "$naive_path" 0 10 1

awk -v af="$fast_rps" -v an="$naive_rps" -v as="$static_rps" \
    -v pf="$fast_p50" -v pn="$naive_p50" 'BEGIN {
    printf "p50: fast is %.2f%% below naive           (target >= 80%%)\n", (pn > 0 ? (1 - pf / pn) * 100 : 0)
    printf "throughput: fast / naive   = %8.2f    (target >= 5)\n", (an > 0 ? af / an : 0)
    printf "throughput: fast / static  = %8.2f    (target >= 0.30)\n", (as > 0 ? af / as : 0)
}'
awk -v a="$fast1_p50" -v b="$naive1_p50" 'BEGIN {
    printf "one request alone: fast %.2f ms, naive %.1f ms (%.0fx)\n", a, b, (a > 0 ? b / a : 0) }'
stats=$(curl -fsS -u portal-admin:demo "$url/api/v1/admin/status" | perl -MJSON::PP -e '
    my $c = decode_json(join "", <STDIN>)->{catalog};
    printf "content cache: %d hits, %d misses (hit rate %.4f); stock reads %d",
        $c->{cache}{hits}, $c->{cache}{misses}, $c->{cache}{hit_rate} // 0, $c->{reads}{stock}')
echo "$stats"
