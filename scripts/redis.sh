#!/usr/bin/env bash
# Throwaway Redis for one instance: 127.0.0.1 only, no persistence.
#   scripts/redis.sh start|stop|status [INSTANCE]
# Exit: 0 ok / running, 1 failure, 2 usage, 3 status: not running.
set -euo pipefail

usage() { echo "usage: $0 start|stop|status [demo|test]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
cmd=$1
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh" "${2:-}"

DIR=$B2B_VAR/redis
PIDFILE=$DIR/redis.pid
LOG=$DIR/redis.log
PORT=$B2B_REDIS_PORT
tag="redis ($B2B_INSTANCE)"

# timeout: a hung redis must not hang the script.
cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
pong() { [[ $(cli ping 2>/dev/null) == PONG ]]; }
no_pong() { ! pong; }

# Pid from our pid file, only if that process is a live redis-server.
our_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server ]] || return 1
    echo "$pid"
}

gone() { ! kill -0 "$1" 2>/dev/null; }

do_start() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        echo "$tag: redis-server/redis-cli not found; run scripts/deps.sh" >&2
        exit 1
    fi
    if our_pid >/dev/null && pong; then
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
    rm -f "$PIDFILE"
    # --save '' and --appendonly no: nothing is ever written to disk.
    if ! redis-server --daemonize yes --save '' --appendonly no \
            --bind 127.0.0.1 --port "$PORT" --protected-mode yes \
            --pidfile "$PIDFILE" --logfile "$LOG" --dir "$DIR"; then
        echo "$tag: redis-server failed to start" >&2
        exit 1
    fi
    if ! b2b_wait_for 10 pong; then
        echo "$tag: no PONG on port $PORT after 10 s; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2 || true
        exit 1
    fi
    echo "$tag: running on 127.0.0.1:$PORT (log $LOG)"
}

do_stop() {
    local pid=""
    pid=$(our_pid) || pid=""
    if [[ -z $pid ]] && ! pong; then
        echo "$tag: not running"
        return 0
    fi
    # The port is ours: whatever redis answers there is shut down.
    cli shutdown nosave >/dev/null 2>&1 || true
    if [[ -n $pid ]] && ! b2b_wait_for 5 gone "$pid"; then
        echo "$tag: shutdown did not stop pid $pid; sending TERM" >&2
        kill -TERM "$pid" 2>/dev/null || true
        if ! b2b_wait_for 5 gone "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
            b2b_wait_for 2 gone "$pid" || true
        fi
    fi
    if ! b2b_wait_for 5 no_pong; then
        echo "$tag: something still answers on port $PORT:" >&2
        b2b_listeners "$PORT" >&2
        exit 1
    fi
    rm -f "$PIDFILE"
    echo "$tag: stopped"
}

do_status() {
    local pid
    if pid=$(our_pid) && pong; then
        echo "$tag: running on 127.0.0.1:$PORT, pid $pid"
        return 0
    fi
    if pong; then
        echo "$tag: a redis not started by this script answers on port $PORT"
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
