# shellcheck shell=bash
# Common environment for the service scripts. Source it, do not run it:
#     . "$B2B_ROOT/scripts/env.sh" [demo|test]
# Every variable below can be overridden from the environment. Values that
# differ per instance are dropped when they were exported for another
# instance (a `make demo` shell running the test scripts must not inherit
# demo's ports). Returns 2 on a bad instance name; callers run with set -e.

b2b__inst=${1:-${B2B_INSTANCE:-demo}}
# Per-instance values exported by a parent for another instance are stale.
if [[ -n ${B2B_INSTANCE:-} && $B2B_INSTANCE != "$b2b__inst" ]]; then
    unset B2B_VAR B2B_PG_PORT B2B_REDIS_PORT B2B_ERP_PORT B2B_HTTP_PORT \
        B2B_DBD_PARAMS B2B_PG_DATA B2B_PG_SOCKDIR B2B_HTDOCS
fi
case $b2b__inst in
    demo | test) ;;
    *[!a-z0-9_-]* | '' | -*)
        echo "env.sh: bad instance name '$b2b__inst' (use demo or test)" >&2
        return 2 ;;
    *)  # Other instances (e.g. a second node) must bring their own ports.
        if [[ -z ${B2B_PG_PORT:-} || -z ${B2B_REDIS_PORT:-} || -z ${B2B_ERP_PORT:-} || -z ${B2B_HTTP_PORT:-} ]]; then
            echo "env.sh: instance '$b2b__inst' has no default ports; set B2B_PG_PORT, B2B_REDIS_PORT, B2B_ERP_PORT and B2B_HTTP_PORT" >&2
            return 2
        fi ;;
esac

export B2B_INSTANCE=$b2b__inst

# Project root: the folder above this file, absolute, symlinks resolved.
if [[ -z ${B2B_ROOT:-} ]]; then
    B2B_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
fi
export B2B_ROOT

# Who runs httpd's children: root drops to www-data (nobody as fallback);
# a normal user's httpd cannot switch users, so it is that user.
if [[ -z ${B2B_RUN_USER:-} || -z ${B2B_RUN_GROUP:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        if getent passwd www-data >/dev/null && getent group www-data >/dev/null; then
            B2B_RUN_USER=${B2B_RUN_USER:-www-data}; B2B_RUN_GROUP=${B2B_RUN_GROUP:-www-data}
        else
            B2B_RUN_USER=${B2B_RUN_USER:-nobody}; B2B_RUN_GROUP=${B2B_RUN_GROUP:-nogroup}
        fi
    else
        B2B_RUN_USER=${B2B_RUN_USER:-$(id -un)}; B2B_RUN_GROUP=${B2B_RUN_GROUP:-$(id -gn)}
    fi
fi
export B2B_RUN_USER B2B_RUN_GROUP

case $b2b__inst in
    demo) b2b__pg=5433 b2b__redis=6380 b2b__erp=8089 b2b__http=8080 ;;
    test) b2b__pg=5434 b2b__redis=6381 b2b__erp=8099 b2b__http=8529 ;;
    *)    b2b__pg=$B2B_PG_PORT b2b__redis=$B2B_REDIS_PORT b2b__erp=$B2B_ERP_PORT b2b__http=$B2B_HTTP_PORT ;;
esac
export B2B_PG_PORT=${B2B_PG_PORT:-$b2b__pg}
export B2B_REDIS_PORT=${B2B_REDIS_PORT:-$b2b__redis}
export B2B_ERP_PORT=${B2B_ERP_PORT:-$b2b__erp}
export B2B_HTTP_PORT=${B2B_HTTP_PORT:-$b2b__http}

# Short, stable name for this checkout, for folders outside of it.
b2b__hash=$(printf '%s' "$B2B_ROOT" | md5sum | cut -c1-8)

# Runtime folder. PostgreSQL runs as postgres and httpd's children as
# B2B_RUN_USER: as root, if they cannot walk into the checkout (a clone under
# /root is mode 700), the data has to live elsewhere.
if [[ -z ${B2B_VAR:-} ]]; then
    B2B_VAR=$B2B_ROOT/var/$b2b__inst
    if [[ $(id -u) -eq 0 ]]; then
        for b2b__u in postgres nobody "$B2B_RUN_USER"; do
            getent passwd "$b2b__u" >/dev/null || continue
            if ! runuser -u "$b2b__u" -- test -x "$B2B_ROOT" 2>/dev/null; then
                B2B_VAR=/tmp/b2bportal-$b2b__hash/$b2b__inst
                echo "env.sh: user $b2b__u cannot enter $B2B_ROOT; runtime files go to $B2B_VAR" >&2
                break
            fi
        done
    fi
fi
export B2B_VAR

export B2B_PG_BIN=${B2B_PG_BIN:-/usr/lib/postgresql/15/bin}
export B2B_PG_HOST=${B2B_PG_HOST:-127.0.0.1}
export B2B_PG_DB=${B2B_PG_DB:-b2b}
export B2B_PG_USER=${B2B_PG_USER:-b2b}
export B2B_PG_PASSWORD=${B2B_PG_PASSWORD:-b2b}
export B2B_PG_DATA=${B2B_PG_DATA:-$B2B_VAR/pg}
# A Unix socket path is limited to 107 bytes: a deep checkout moves it to /tmp.
if [[ -z ${B2B_PG_SOCKDIR:-} ]]; then
    B2B_PG_SOCKDIR=$B2B_VAR/pg-sock
    if (( ${#B2B_PG_SOCKDIR} > 85 )); then
        B2B_PG_SOCKDIR=/tmp/b2bportal-$b2b__hash/$b2b__inst-pg-sock
    fi
fi
export B2B_PG_SOCKDIR
export B2B_DBD_PARAMS=${B2B_DBD_PARAMS:-"host=$B2B_PG_HOST port=$B2B_PG_PORT dbname=$B2B_PG_DB user=$B2B_PG_USER password=$B2B_PG_PASSWORD"}
export B2B_MODULE_DIR=${B2B_MODULE_DIR:-$B2B_ROOT/.libs}
# Folder httpd serves the site from. httpd's children read it: when they
# cannot enter the checkout (the /tmp fallback above), httpd.sh keeps a
# copy of $B2B_ROOT/htdocs there, refreshed on start/restart/graceful.
if [[ -z ${B2B_HTDOCS:-} ]]; then
    if [[ $B2B_VAR == "/tmp/b2bportal-$b2b__hash/"* ]]; then
        B2B_HTDOCS=$B2B_VAR/htdocs
    else
        B2B_HTDOCS=$B2B_ROOT/htdocs
    fi
fi
export B2B_HTDOCS

unset b2b__inst b2b__pg b2b__redis b2b__erp b2b__http b2b__u

# psql as the application role over TCP (the same path httpd uses).
b2b_psql() {
    local psql=psql
    [[ -x $B2B_PG_BIN/psql ]] && psql=$B2B_PG_BIN/psql
    PGPASSWORD=$B2B_PG_PASSWORD PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5} \
        "$psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$B2B_PG_HOST" -p "$B2B_PG_PORT" -U "$B2B_PG_USER" -d "$B2B_PG_DB" "$@"
}

b2b_is_root() { [[ $(id -u) -eq 0 ]]; }

# mkdir -p with world-traversable folders (root's umask may be 077, and
# postgres / httpd children must still get through).
b2b_mkdir() {
    (umask 022 && mkdir -p "$@")
}

# Create B2B_VAR (and make sure it is usable). The /tmp fallback has a
# guessable name: refuse one that someone else made.
b2b_prepare_var() {
    local top=/tmp/b2bportal-$b2b__hash
    if [[ $B2B_VAR == "$top"/* ]]; then
        if [[ -L $top ]] || { [[ -e $top ]] && [[ ! -O $top ]]; }; then
            echo "$top exists but is not a folder owned by $(id -un); remove it or set B2B_VAR" >&2
            return 1
        fi
        b2b_mkdir "$top" && chmod 0755 "$top"
    elif [[ $B2B_VAR == "$B2B_ROOT/var"/* ]]; then
        top=$B2B_ROOT/var
        b2b_mkdir "$top" 2>/dev/null || true
        # Someone's umask 077 would lock postgres and httpd's children out.
        if [[ -O $top ]]; then chmod 0755 "$top"; fi
    fi
    if ! b2b_mkdir "$B2B_VAR" 2>/dev/null || [[ ! -w $B2B_VAR ]]; then
        echo "cannot write to $B2B_VAR as $(id -un) (made by another user?); remove it or set B2B_VAR" >&2
        return 1
    fi
    if [[ -O $B2B_VAR ]]; then chmod 0755 "$B2B_VAR"; fi
}

# Listening sockets on a TCP port of 127.0.0.1/any address (ss lines; empty
# when free). Uses -p when allowed, so root sees the owning process.
b2b_listeners() {
    ss -Hltnp "( sport = :$1 )" 2>/dev/null || true
}

# Wait up to $1 seconds for command "${@:2}" to succeed.
b2b_wait_for() {
    local secs=$1; shift
    local i
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# The passphrase that encrypts the site's session cookie (mod_session_crypto):
# B2B_SESSION_SECRET if set, else one made once per instance and kept in
# $B2B_VAR/session.secret (mode 0600), so sessions survive a restart of the
# same instance. Call after b2b_prepare_var, before httpd starts.
b2b_session_secret() {
    local f=$B2B_VAR/session.secret
    if [[ -z ${B2B_SESSION_SECRET:-} ]]; then
        if [[ ! -s $f ]]; then
            (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$f.new" && mv -f "$f.new" "$f")
        fi
        B2B_SESSION_SECRET=$(cat "$f")
    fi
    if (( ${#B2B_SESSION_SECRET} < 32 )); then
        echo "B2B_SESSION_SECRET must be at least 32 characters" >&2
        return 1
    fi
    export B2B_SESSION_SECRET
}
