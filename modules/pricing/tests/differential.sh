#!/usr/bin/env bash
# differential.sh — the compiled pricing engine against the SQL reference resolver
# (sql/050_price_reference.sql), on seeded random rule sets; prints TAP.
#
# usage: modules/pricing/tests/differential.sh
#   connection: PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD (as psql takes them). PGDATABASE is
#   only where the scratch databases are created from: for each seed a fresh database
#   b2b_pricing_diff_<pid>_<seed> is created, the migrations sql/[0-9]*.sql applied, the data
#   set loaded, compared, and dropped (DIFF_KEEP=1 keeps it).
#   DIFF_SEEDS   seeds to run (default "1 2"), each one test
#   DIFF_CASES   cases per seed (default 10000)
#   DIFF_BIN     the generator (default build/pricing/differential_gen, built if missing)
# Every mismatch is printed as a TAP comment with the full case and both answers.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
seeds="${DIFF_SEEDS:-1 2}"
cases="${DIFF_CASES:-10000}"
gen="${DIFF_BIN:-$root/build/pricing/differential_gen}"
psql_bin="$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)"
work="$(mktemp -d "${TMPDIR:-/tmp}/b2b-pricing-diff.XXXXXX")"
trap 'rm -rf "$work"' EXIT

q() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$@"; }

nseeds=$(echo $seeds | wc -w)
echo "1..$((nseeds + 1))"

if [ ! -x "$gen" ]; then
    (cd "$root" && make -s -f modules/pricing/pricing.mk build/pricing/differential_gen) >&2
fi
if [ -x "$gen" ] && q -d "${PGDATABASE:-postgres}" -tAc 'SELECT 1' >/dev/null 2>"$work/conn.err"; then
    echo "ok 1 - generator built and PostgreSQL reachable"
else
    echo "not ok 1 - generator built and PostgreSQL reachable"
    sed 's/^/# /' "$work/conn.err"
    n=1
    for s in $seeds; do n=$((n + 1)); echo "not ok $n - seed $s: no database"; done
    exit 1
fi

n=1
failed=0
for seed in $seeds; do
    n=$((n + 1))
    db="b2b_pricing_diff_$$_${seed}"
    dir="$work/$seed"
    mkdir -p "$dir"
    if ! "$gen" "$seed" "$cases" "$dir" 2>"$dir/gen.log"; then
        echo "not ok $n - seed $seed: generator failed"; sed 's/^/# /' "$dir/gen.log"
        failed=1; continue
    fi
    q -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
        >/dev/null 2>"$dir/create.err" || {
        echo "not ok $n - seed $seed: cannot create database $db"; sed 's/^/# /' "$dir/create.err"
        failed=1; continue; }
    ok=1
    for f in "$root"/sql/[0-9]*.sql; do
        if ! q -d "$db" -1 -f "$f" >/dev/null 2>"$dir/migrate.err"; then
            echo "not ok $n - seed $seed: migration $(basename "$f") failed"
            sed 's/^/# /' "$dir/migrate.err"; ok=0; break
        fi
    done
    if [ $ok = 1 ] && ! q -d "$db" -f "$dir/data.sql" >/dev/null 2>"$dir/load.err"; then
        echo "not ok $n - seed $seed: loading the data set failed"
        sed 's/^/# /' "$dir/load.err" | head -20; ok=0
    fi
    if [ $ok = 1 ]; then
        start=$(date +%s)
        out=$(q -d "$db" -tA -F ' | ' <<SQL 2>&1
CREATE TABLE engine_answers (case_no integer PRIMARY KEY, unit_minor bigint, net_minor bigint,
    tax_minor bigint, gross_minor bigint, currency text, error text);
\copy engine_answers FROM '$dir/engine.csv' CSV
CREATE TABLE reference_answers AS
SELECT c.case_no, r.* FROM pricing_diff_cases c,
       LATERAL b2b_price_reference(c.account_code, c.sku, c.qty, c.promo_code, c.currency,
                                   to_timestamp(c.as_of)) r;
SELECT 'cases', count(*) FROM reference_answers;
SELECT 'mismatch', c.case_no, c.account_code, c.sku, c.qty, coalesce(c.promo_code, '-'),
       coalesce(c.currency, '-'), to_timestamp(c.as_of) AT TIME ZONE 'UTC',
       'engine', e.unit_minor, e.net_minor, e.tax_minor, e.gross_minor, e.currency, e.error,
       'sql', r.unit_minor, r.net_minor, r.tax_minor, r.gross_minor, r.currency, r.error
  FROM pricing_diff_cases c JOIN engine_answers e USING (case_no)
  JOIN reference_answers r USING (case_no)
 WHERE (e.unit_minor, e.net_minor, e.tax_minor, e.gross_minor, e.currency, e.error)
       IS DISTINCT FROM (r.unit_minor, r.net_minor, r.tax_minor, r.gross_minor, r.currency, r.error)
 ORDER BY c.case_no;
SELECT 'outcome', coalesce(error, 'ok'), count(*) FROM reference_answers GROUP BY 2 ORDER BY 3 DESC;
SQL
)
        rc=$?
        took=$(( $(date +%s) - start ))
        total=$(echo "$out" | awk -F ' [|] ' '$1 == "cases" { print $2 }')
        bad=$(echo "$out" | grep -c '^mismatch' || true)
        if [ $rc -ne 0 ] || [ -z "$total" ]; then
            echo "not ok $n - seed $seed: comparison failed"
            echo "$out" | sed 's/^/# /' | head -20; ok=0
        elif [ "$bad" -eq 0 ] && [ "$total" -eq "$cases" ]; then
            echo "ok $n - seed $seed: engine and SQL reference agree on $total cases (${took}s)"
        else
            echo "not ok $n - seed $seed: $bad of $total cases differ"
            ok=0
        fi
        echo "$out" | grep '^mismatch' | head -25 | sed 's/^/# /'
        echo "$out" | grep '^outcome' | tr '\n' ';' | sed 's/^/# outcomes: /; s/$/\n/'
        sed 's/^/# /' "$dir/gen.log"
    fi
    [ $ok = 1 ] || failed=1
    if [ "${DIFF_KEEP:-0}" != 1 ]; then
        q -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    else
        echo "# kept database $db"
    fi
done
exit $failed
