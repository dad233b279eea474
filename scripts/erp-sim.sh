#!/usr/bin/env bash
# The ERP simulator (tools/erp-sim/erp-sim.pl) for one instance: 127.0.0.1
# only, state, pid and log under $B2B_VAR/erp.
#   scripts/erp-sim.sh start|stop|status [INSTANCE]
# Environment (optional):
#   B2B_ERP_SIM_PORTAL  portal base URL for status push-back (default
#                       http://127.0.0.1:$B2B_HTTP_PORT; empty: no push-back)
#   B2B_ERP_SIM_SEED    seed of the "flaky" mode's random stream (default 1)
#   B2B_ERP_SIM_ARGS    extra arguments, e.g. "--stock-file f.json --auto-push-ms 500"
# Exit: 0 ok / running, 1 failure, 2 usage, 3 status: not running.
set -euo pipefail

usage() { echo "usage: $0 start|stop|status [demo|test]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
cmd=$1
# shellcheck source=scripts/env.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh" "${2:-}"

DIR=$B2B_VAR/erp
PIDFILE=$DIR/erp-sim.pid
LOG=$DIR/erp-sim.log
PORT=$B2B_ERP_PORT
SIM=$B2B_ROOT/tools/erp-sim/erp-sim.pl
tag="erp-sim ($B2B_INSTANCE)"

# The health answer on our port, if it is the simulator's (curl's timeout:
# a hung simulator must not hang the script).
health() { curl -fsS -m 2 "http://127.0.0.1:$PORT/_sim/health" 2>/dev/null | grep '"service":"erp-sim"'; }
healthy() { health >/dev/null; }
port_free() { [[ -z $(b2b_listeners "$PORT") ]]; }

# A pid only if that process is a live erp-sim.pl.
is_sim() {
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'erp-sim\.pl'
}
our_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    is_sim "$pid" || return 1
    echo "$pid"
}
# Gone, or a zombie its parent has not reaped yet (it holds nothing).
gone() {
    kill -0 "$1" 2>/dev/null || return 0
    [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]
}
# Pids in process group $1 (the simulator leads its own group; ps -g would
# select by session, so filter on the pgid column). Zombies do not count.
group_members() {
    [[ $1 =~ ^[0-9]+$ && $1 -gt 1 ]] || return 0
    ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}
group_alive() { [[ -n $(group_members "$1") ]]; }
group_gone() { ! group_alive "$1"; }

# Connection children that outlived their parent (killed -9, say): members
# of the group of the pid on file that are still erp-sim.pl. A stale one
# could still answer a slow request and write state after a restart.
leftovers() {
    local pg p
    pg=$(cat "$PIDFILE" 2>/dev/null) || return 0
    [[ $pg =~ ^[0-9]+$ ]] || return 0
    for p in $(group_members "$pg"); do
        if is_sim "$p"; then echo "$p"; fi
    done
}
no_leftovers() { [[ -z $(leftovers) ]]; }
end_leftovers() {
    local left
    left=$(leftovers)
    [[ -n $left ]] || return 0
    echo "$tag: ending what is left of an earlier run: pid ${left//$'\n'/ }"
    # shellcheck disable=SC2086  # one argument per pid
    kill -TERM $left 2>/dev/null || true
    if ! b2b_wait_for 3 no_leftovers; then
        left=$(leftovers)
        # shellcheck disable=SC2086
        [[ -z $left ]] || kill -KILL $left 2>/dev/null || true
    fi
}

do_start() {
    if ! command -v curl >/dev/null; then
        echo "$tag: curl not found; run scripts/deps.sh" >&2
        exit 1
    fi
    if ! perl -MHTTP::Daemon -MJSON::PP -MHTTP::Tiny -e 1 2>/dev/null; then
        echo "$tag: Perl modules HTTP::Daemon/JSON::PP missing; run scripts/deps.sh" >&2
        exit 1
    fi
    if our_pid >/dev/null && healthy; then
        echo "$tag: already running on 127.0.0.1:$PORT"
        return 0
    fi
    local busy
    busy=$(b2b_listeners "$PORT")
    if [[ -n $busy ]]; then
        echo "$tag: port $PORT is already in use:" >&2
        echo "$busy" >&2
        exit 1
    fi
    b2b_prepare_var
    b2b_mkdir "$DIR"
    end_leftovers
    rm -f "$PIDFILE"
    local portal=${B2B_ERP_SIM_PORTAL-http://127.0.0.1:$B2B_HTTP_PORT}
    local args=(--port "$PORT" --state-dir "$DIR" --pid-file "$PIDFILE" --log "$LOG"
        --seed "${B2B_ERP_SIM_SEED:-1}")
    if [[ -n $portal ]]; then
        args+=(--portal "$portal" --portal-user erp --portal-password demo)
    fi
    # shellcheck disable=SC2206  # B2B_ERP_SIM_ARGS is split on purpose
    args+=(${B2B_ERP_SIM_ARGS:-})
    # The simulator makes itself a process-group leader (setsid), so stop can
    # take its connection children along. cd /: it must not pin a folder.
    (cd / && exec perl "$SIM" "${args[@]}" </dev/null >>"$LOG" 2>&1) &
    local launcher=$!
    if ! b2b_wait_for 10 healthy; then
        echo "$tag: no answer from /_sim/health on port $PORT after 10 s; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2 || true
        kill -TERM "$launcher" 2>/dev/null || true
        exit 1
    fi
    if ! our_pid >/dev/null; then
        echo "$tag: it answers but $PIDFILE names no live simulator" >&2
        exit 1
    fi
    echo "$tag: running on 127.0.0.1:$PORT (log $LOG)"
}

do_stop() {
    local pid="" h
    pid=$(our_pid) || pid=""
    if [[ -z $pid ]]; then
        # No pid file (or a stale one): a simulator on our port is still ours.
        if h=$(health); then
            pid=$(sed -n 's/.*"pid":\([0-9][0-9]*\).*/\1/p' <<<"$h")
            is_sim "$pid" || pid=""
        fi
    fi
    if [[ -z $pid ]]; then
        if healthy; then
            echo "$tag: a simulator answers on port $PORT but its process cannot be found" >&2
            exit 1
        fi
        end_leftovers
        rm -f "$PIDFILE"
        echo "$tag: not running"
        return 0
    fi
    local pgid
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || pgid=""
    # TERM: the parent stops accepting, then ends its children.
    kill -TERM "$pid" 2>/dev/null || true
    if ! b2b_wait_for 5 gone "$pid"; then
        echo "$tag: pid $pid did not stop on TERM; sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        b2b_wait_for 2 gone "$pid" || true
    fi
    # Whatever is left of its group (slow answers, push-back helpers).
    if [[ $pgid == "$pid" ]] && group_alive "$pgid"; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        if ! b2b_wait_for 3 group_gone "$pgid"; then
            kill -KILL -- "-$pgid" 2>/dev/null || true
            b2b_wait_for 2 group_gone "$pgid" || true
        fi
    fi
    if ! b2b_wait_for 5 port_free; then
        echo "$tag: port $PORT is still in use:" >&2
        b2b_listeners "$PORT" >&2
        exit 1
    fi
    rm -f "$PIDFILE"
    echo "$tag: stopped"
}

do_status() {
    local pid
    if pid=$(our_pid) && healthy; then
        echo "$tag: running on 127.0.0.1:$PORT, pid $pid"
        return 0
    fi
    if healthy; then
        echo "$tag: a simulator not started by this script answers on port $PORT"
        return 1
    fi
    echo "$tag: not running"
    return 3
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
