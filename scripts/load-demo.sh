#!/usr/bin/env bash
# Loads the demo data (docs/schema.md, "Notes from the migrations") into a
# migrated database, in one transaction, deterministically: every run with the
# same options gives the same rows.
#
# usage: scripts/load-demo.sh [INSTANCE] [--products N] [--accounts N] [--contracts N] [--reset]
#   --products N   demo products SKU-00001..; default 2000 (100..99999)
#   --accounts N   extra accounts BENCH-00001.. in trees of 40, 4 levels deep, under
#                  their own roots, one buyer user each (bench-00001...); default 0
#   --contracts N  extra contract rules spread over the BENCH accounts; default 0
#   --reset        empty every data table first (identities restart), then load
# Without --reset, a database that already holds accounts or products is left
# alone: exit 0 if it holds this very demo load already, exit 3 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
usage() { sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//'; }

# --- connection (same as migrate.sh) ----------------------------------------
# shellcheck source=/dev/null
# Sourced from a function: without an INSTANCE, env.sh must not see our options.
b2b_source_env() { . "$here/env.sh" "$@"; }
if [ -f "$here/env.sh" ]; then
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then b2b_source_env "$1"; shift; else b2b_source_env; fi
elif [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    echo "load-demo: note: scripts/env.sh not found; ignoring instance '$1', using B2B_PG_* from the environment" >&2
    shift
fi
if ! declare -F b2b_psql >/dev/null; then
    b2b_psql_bin="$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)"
    b2b_psql() {
        local pw=()
        [ -n "${B2B_PG_PASSWORD:-}" ] && pw=(env "PGPASSWORD=$B2B_PG_PASSWORD")
        "${pw[@]}" "$b2b_psql_bin" -X -q -v ON_ERROR_STOP=1 \
            -h "${B2B_PG_HOST:-127.0.0.1}" -p "${B2B_PG_PORT:-5432}" \
            -U "${B2B_PG_USER:-b2b}" -d "${B2B_PG_DB:-b2b}" "$@"
    }
fi
# ----------------------------------------------------------------------------

products=2000 accounts=0 contracts=0 reset=0
need_int() {
    case "${2:-}" in ''|*[!0-9]*) echo "load-demo: $1 needs a whole number, got '${2:-}'" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
    case "$1" in
        --products)    need_int "$1" "${2:-}"; products=$((10#$2)); shift 2 ;;
        --products=*)  need_int --products "${1#*=}"; products=$((10#${1#*=})); shift ;;
        --accounts)    need_int "$1" "${2:-}"; accounts=$((10#$2)); shift 2 ;;
        --accounts=*)  need_int --accounts "${1#*=}"; accounts=$((10#${1#*=})); shift ;;
        --contracts)   need_int "$1" "${2:-}"; contracts=$((10#$2)); shift 2 ;;
        --contracts=*) need_int --contracts "${1#*=}"; contracts=$((10#${1#*=})); shift ;;
        --reset)       reset=1; shift ;;
        -h|--help)     usage; exit 0 ;;
        *) echo "load-demo: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$products" -lt 100 ] || [ "$products" -gt 99999 ]; then
    echo "load-demo: --products must be 100..99999 (SKU-%05d; the demo facts use SKUs up to SKU-00060)" >&2; exit 2
fi
if [ "$accounts" -gt 99999 ]; then
    echo "load-demo: --accounts must be 0..99999" >&2; exit 2
fi
if [ "$contracts" -gt 0 ] && [ "$accounts" -eq 0 ]; then
    echo "load-demo: --contracts needs --accounts N > 0 (bench contracts go to BENCH accounts only)" >&2; exit 2
fi
if [ "$contracts" -gt $((accounts * products)) ]; then
    echo "load-demo: --contracts $contracts exceeds accounts x products ($((accounts * products))): contracts would repeat" >&2; exit 2
fi

target="${B2B_PG_USER:-?}@${B2B_PG_HOST:-?}:${B2B_PG_PORT:-?}/${B2B_PG_DB:-?}"
if ! state="$(b2b_psql -tA -F ' ' -c "
        SELECT (SELECT count(*) FROM accounts WHERE code = 'ACME'),
               (SELECT count(*) FROM accounts),
               (SELECT count(*) FROM products),
               (SELECT count(*) FROM accounts WHERE code LIKE 'BENCH-%'),
               (SELECT count(*) FROM price_rules r JOIN accounts a ON a.id = r.account_id
                 WHERE r.kind = 'contract' AND a.code LIKE 'BENCH-%')" 2>&1)"; then
    echo "load-demo: cannot read the database ($target); is it up and migrated (scripts/migrate.sh)?" >&2
    printf '%s\n' "$state" >&2
    exit 2
fi
read -r has_acme n_accounts n_products n_bench n_bench_contracts <<<"$state"

if [ "$reset" -eq 0 ] && { [ "$n_accounts" -gt 0 ] || [ "$n_products" -gt 0 ]; }; then
    if [ "$has_acme" -eq 1 ] && [ "$n_products" -eq "$products" ] && [ "$n_bench" -eq "$accounts" ] \
       && [ "$n_bench_contracts" -eq "$contracts" ]; then
        echo "load-demo: $target already holds this demo data ($n_products products, $n_bench bench accounts, $n_bench_contracts bench contracts); nothing done (use --reset to reload)"
        exit 0
    fi
    echo "load-demo: $target already holds other data ($n_accounts accounts, $n_products products, $n_bench bench accounts, $n_bench_contracts bench contracts); nothing loaded. Use --reset to replace it." >&2
    exit 3
fi

files=(-f "$root/sql/demo/00_prepare.sql" -f "$root/sql/demo/10_base.sql" -f "$root/sql/demo/20_products.sql")
[ "$accounts" -gt 0 ] && files+=(-f "$root/sql/demo/30_bench.sql")
files+=(-f "$root/sql/demo/90_finish.sql")

echo "load-demo: loading into $target: $products products, $accounts bench accounts, $contracts bench contracts$([ "$reset" -eq 1 ] && echo ', after reset')"
start=$(date +%s%N)
if ! b2b_psql -1 -v reset="$reset" -v products="$products" -v accounts="$accounts" \
        -v contracts="$contracts" "${files[@]}"; then
    echo "load-demo: FAILED; the transaction was rolled back, the database is as it was." >&2
    exit 1
fi
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'load-demo: done in %d.%03d s\n' $((ms / 1000)) $((ms % 1000))
