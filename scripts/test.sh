#!/usr/bin/env bash
# `make test`: start the test instance's services, load the demo data, run
# the unit tests and the Apache::Test suite (one prove summary for both),
# stop everything. Fails unless prove reports tests that actually ran.
#   B2B_TEST_FILES="t/me.t t/auth.t"  run only these
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh test

log=$B2B_VAR/test-run.log
b2b_prepare_var
b2b_session_secret

cleanup() {
    perl t/TEST.PL -stop >/dev/null 2>&1 || true
    scripts/services.sh stop test >/dev/null 2>&1 || scripts/services.sh stop test || true
}
trap cleanup EXIT

start=$(date +%s)
scripts/services.sh start test pg redis erp
# A fresh database each run: the suite must pass from the migrations alone.
b2b_psql -d postgres -c "DROP DATABASE IF EXISTS $B2B_PG_DB WITH (FORCE)" \
         -c "CREATE DATABASE $B2B_PG_DB OWNER $B2B_PG_USER"
scripts/migrate.sh test
scripts/load-demo.sh test --reset

# httpd's children cannot read a checkout they cannot enter (e.g. under
# /root): env.sh then points B2B_HTDOCS at a copy under B2B_VAR.
if [[ $B2B_HTDOCS != "$B2B_ROOT/htdocs" && -d $B2B_ROOT/htdocs ]]; then
    rm -rf "$B2B_HTDOCS" && cp -a "$B2B_ROOT/htdocs" "$B2B_HTDOCS"
    chmod -R a+rX "$B2B_HTDOCS"
fi

# Unit tests are plain C programs printing TAP; t/unit.t runs them.
make -s unit-build

# Apache::Test refuses root; httpd is fine as root when its children switch
# user, so as root we say which user (t/TEST.PL accepts that on purpose).
user_args=()
if [[ $(id -u) -eq 0 ]]; then
    user_args=(-user "$B2B_RUN_USER" -group "$B2B_RUN_GROUP")
fi
mpm_args=()
perl t/TEST.PL -clean >/dev/null 2>&1 || true
set +e
perl t/TEST.PL -apxs "$(command -v apxs)" -httpd /usr/sbin/apache2 \
    -httpd_conf "$PWD/t/conf/modules.conf" -port "$B2B_HTTP_PORT" \
    -servername 127.0.0.1 "${user_args[@]}" "${mpm_args[@]}" \
    ${B2B_TEST_FILES:-} 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
echo "make test: $(( $(date +%s) - start )) s"

# Apache::Test can exit 0 having run nothing (NOTESTS, or everything
# skipped): demand prove's own words and a non-zero test count.
if [[ $rc -ne 0 ]]; then
    echo "make test: the suite failed (exit $rc); server log: t/logs/error_log" >&2
    exit 1
fi
if ! grep -q '^All tests successful' "$log" \
   || ! grep -Eq '^Files=[0-9]+, Tests=[1-9][0-9]*' "$log" \
   || ! grep -q '^Result: PASS' "$log"; then
    echo "make test: prove did not report a passing run with tests in it" >&2
    exit 1
fi
