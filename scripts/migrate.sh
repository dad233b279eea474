#!/usr/bin/env bash
# Applies the schema migrations sql/[0-9]*.sql in name order, each in one
# transaction together with its row in schema_migrations. Applied ones are
# skipped (a second run is a no-op); the first failure stops the run, rolls
# that migration back entirely and exits non-zero.
#
# usage: scripts/migrate.sh [INSTANCE]
#   INSTANCE is passed to scripts/env.sh, which exports B2B_PG_HOST, B2B_PG_PORT,
#   B2B_PG_DB, B2B_PG_USER, B2B_PG_PASSWORD and defines b2b_psql. Without
#   env.sh, set those variables by hand.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

# --- connection (shared with load-demo.sh) ----------------------------------
# shellcheck source=/dev/null
# Sourced from a function: without an INSTANCE, env.sh must not see our options.
b2b_source_env() { . "$here/env.sh" "$@"; }
if [ -f "$here/env.sh" ]; then
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then b2b_source_env "$1"; shift; else b2b_source_env; fi
elif [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    echo "migrate: note: scripts/env.sh not found; ignoring instance '$1', using B2B_PG_* from the environment" >&2
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

target="${B2B_PG_USER:-?}@${B2B_PG_HOST:-?}:${B2B_PG_PORT:-?}/${B2B_PG_DB:-?}"
if ! b2b_psql -tA -c 'SELECT 1' >/dev/null; then
    echo "migrate: cannot connect to PostgreSQL ($target)" >&2
    exit 2
fi

# (one implicit transaction; the lock keeps two first runs from racing)
if ! b2b_psql -c "SET client_min_messages = warning;
                  SELECT pg_advisory_xact_lock(hashtext('b2b_schema_migrations'));
                  CREATE TABLE IF NOT EXISTS schema_migrations (
                      version    text PRIMARY KEY,
                      applied_at timestamptz NOT NULL DEFAULT now(),
                      checksum   text);
                  ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text;" >/dev/null; then
    echo "migrate: cannot create schema_migrations on $target" >&2
    exit 2
fi

shopt -s nullglob
files=("$root"/sql/[0-9]*.sql)
if [ ${#files[@]} -eq 0 ]; then
    echo "migrate: no migrations in $root/sql" >&2
    exit 2
fi

applied=0 skipped=0
for f in "${files[@]}"; do
    version="$(basename "$f" .sql)"
    sum="$(sha256sum "$f" | cut -d' ' -f1)"
    # One transaction: serialize concurrent runs with an advisory lock, check
    # again under the lock, run the file, record it. ON_ERROR_STOP makes psql
    # exit on the first error; the open transaction is then rolled back.
    if ! out="$(b2b_psql -v version="$version" -v sum="$sum" -v file="$f" 2>&1 <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('b2b_schema_migrations')) AS locked \gset
SELECT count(*) > 0 AS done, max(checksum) AS old_sum
  FROM schema_migrations WHERE version = :'version' \gset
\if :done
  \if :{?old_sum}
    SELECT :'old_sum' <> :'sum' AS changed \gset
    \if :changed
      \echo CHANGED
    \endif
  \endif
  \echo SKIPPED
\else
  \i :file
  INSERT INTO schema_migrations (version, checksum) VALUES (:'version', :'sum');
  \echo APPLIED
\endif
COMMIT;
SQL
)"; then
        printf '%s\n' "$out" | grep -vx 'SKIPPED\|APPLIED\|CHANGED' >&2 || true
        echo "migrate: FAILED at $version ($f); it was rolled back, nothing of it is applied." >&2
        echo "migrate: $applied applied by this run before it; later migrations not attempted." >&2
        exit 1
    fi
    printf '%s\n' "$out" | grep -vx 'SKIPPED\|APPLIED\|CHANGED' >&2 || true
    case "$out" in
        *APPLIED*) applied=$((applied + 1)); echo "migrate: applied $version" ;;
        *SKIPPED*) skipped=$((skipped + 1))
                   case "$out" in *CHANGED*)
                       echo "migrate: warning: $version was applied from a different file (checksum changed); not re-run" >&2 ;;
                   esac ;;
        *) echo "migrate: unexpected output for $version: $out" >&2; exit 1 ;;
    esac
done

if [ "$applied" -eq 0 ]; then
    echo "migrate: up to date ($skipped migrations already applied) on $target"
else
    echo "migrate: $applied applied, $skipped already there, on $target"
fi
