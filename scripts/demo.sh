#!/usr/bin/env bash
# `make demo`: start PostgreSQL, Redis, the ERP simulator and httpd for the
# demo instance, migrate, load the demo data once, print where to go.
# (make has already installed the packages and built the modules.)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh demo

scripts/services.sh start demo pg redis erp
scripts/migrate.sh demo
# The demo data is loaded once; `scripts/load-demo.sh demo --reset` reloads it.
if [[ $(b2b_psql -At -c "SELECT count(*) FROM accounts") == 0 ]]; then
    scripts/load-demo.sh demo
else
    echo "demo: data already loaded (reload: scripts/load-demo.sh demo --reset)"
fi
scripts/services.sh start demo httpd

cat <<MSG

mod_b2bportal is running: http://127.0.0.1:$B2B_HTTP_PORT/
  Site:   http://127.0.0.1:$B2B_HTTP_PORT/   (log in with the form)
          buyers: na-buyer, emea-buyer, globex-buyer; approver: na-approver;
          acme-admin acts for the whole ACME tree (account switcher);
          portal-admin gets the operator pages (price rules, queue, status)
  API:    http://127.0.0.1:$B2B_HTTP_PORT/api/v1/me   (HTTP Basic; contract:
          http://127.0.0.1:$B2B_HTTP_PORT/openapi.yaml)
  Logins: password "demo" for acme-admin, na-buyer, na-approver, emea-buyer,
          globex-buyer, portal-admin, erp
  Try:    curl -u na-buyer:demo http://127.0.0.1:$B2B_HTTP_PORT/api/v1/me
  Logs:   $B2B_VAR/httpd/error.log
  Stop:   make stop
MSG
