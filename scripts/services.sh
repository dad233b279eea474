#!/usr/bin/env bash
# Start/stop the services of one instance, in dependency order.
#   scripts/services.sh start|stop|status [INSTANCE] [pg redis erp httpd ...]
# Default: all four. start goes pg, redis, erp, httpd; stop the reverse
# (whatever order they are named in). `erp` runs scripts/erp-sim.sh when
# that file exists. After stop, nothing may listen on the stopped
# services' ports.
# Exit: 0 ok, 1 a service failed (or a port is still taken after stop),
# 2 usage; status: 0 all running, 3 otherwise.
set -euo pipefail

ALL=(pg redis erp httpd)
usage() { echo "usage: $0 start|stop|status [demo|test] [${ALL[*]}]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
cmd=$1; shift
case $cmd in start | stop | status) ;; *) usage ;; esac
inst=""
if [[ $# -gt 0 ]] && ! [[ " ${ALL[*]} " == *" $1 "* ]]; then inst=$1; shift; fi
for s in "$@"; do
    [[ " ${ALL[*]} " == *" $s "* ]] || { echo "$0: unknown service '$s' (known: ${ALL[*]})" >&2; exit 2; }
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$HERE/env.sh" "$inst"

# The requested services, in canonical order.
wanted=()
for s in "${ALL[@]}"; do
    if [[ $# -eq 0 || " $* " == *" $s "* ]]; then wanted+=("$s"); fi
done

port_of() {
    case $1 in
        pg) echo "$B2B_PG_PORT" ;;
        redis) echo "$B2B_REDIS_PORT" ;;
        erp) echo "$B2B_ERP_PORT" ;;
        httpd) echo "$B2B_HTTP_PORT" ;;
    esac
}

run() {   # run SERVICE ACTION
    local svc=$1 action=$2
    if [[ $svc == erp ]]; then
        if [[ ! -f $HERE/erp-sim.sh ]]; then
            echo "erp ($B2B_INSTANCE): scripts/erp-sim.sh not present, skipped"
            return 0
        fi
        bash "$HERE/erp-sim.sh" "$action" "$B2B_INSTANCE"
    else
        bash "$HERE/$svc.sh" "$action" "$B2B_INSTANCE"
    fi
}

case $cmd in
start)
    for s in "${wanted[@]}"; do
        if ! run "$s" start; then
            echo "services ($B2B_INSTANCE): $s failed to start; stop the rest with: $0 stop $B2B_INSTANCE" >&2
            exit 1
        fi
    done
    ;;
stop)
    rc=0
    # Stop everything even if one fails, so as little as possible is left.
    for ((i = ${#wanted[@]} - 1; i >= 0; i--)); do
        run "${wanted[i]}" stop || rc=1
    done
    for s in "${wanted[@]}"; do
        p=$(port_of "$s")
        busy=$(b2b_listeners "$p")
        if [[ -n $busy ]]; then
            echo "services ($B2B_INSTANCE): port $p ($s) is still in use:" >&2
            echo "$busy" >&2
            rc=1
        fi
    done
    exit "$rc"
    ;;
status)
    rc=0
    for s in "${wanted[@]}"; do
        if [[ $s == erp && ! -f $HERE/erp-sim.sh ]]; then
            echo "erp ($B2B_INSTANCE): scripts/erp-sim.sh not present"
            continue
        fi
        run "$s" status || rc=3
    done
    exit "$rc"
    ;;
esac
