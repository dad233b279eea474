#!/usr/bin/env bash
# Install the Debian packages the project needs (and any named as arguments,
# e.g. `scripts/deps.sh chromium`).
#   Nothing missing: silent, exit 0.
#   Missing, root:   apt-get update once, install, exit 0 (1 if apt fails).
#   Missing, other:  print the sudo command to run, exit 1.
# Services the install starts (apache2, redis, PostgreSQL's system cluster)
# are stopped and disabled: ours run from scripts/*.sh on other ports.
set -euo pipefail

PACKAGES=(apache2 apache2-dev libaprutil1-dbd-pgsql libhiredis-dev libjansson-dev
    libcurl4-openssl-dev redis-server postgresql postgresql-contrib
    libapache2-mod-perl2 apache2-utils wrk libwww-perl libjson-pp-perl
    libhttp-daemon-perl make gcc clang libclang-rt-14-dev perl procps iproute2 curl
    chromium fonts-dejavu-core)
# Node.js and npm run the browser tests (t/browser.t). A machine may carry
# its own Node.js build (with npm inside): only without one do we ask for
# Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    PACKAGES+=(nodejs npm)
fi
PACKAGES+=("$@")

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

# invoke-rc.d asks policy-rc.d whether it may start a service: 101 = no.
# That keeps the packages' own daemons from starting (and taking ports)
# during the install. Leave an existing policy (Docker images have one).
POLICY=/usr/sbin/policy-rc.d
MARK="# b2bportal deps.sh temporary policy"
if [[ -f $POLICY ]] && grep -qF "$MARK" "$POLICY"; then rm -f "$POLICY"; fi  # left by a killed run
ours_policy=""
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n%s\nexit 101\n' "$MARK" >"$POLICY"
    chmod 0755 "$POLICY"
    ours_policy=1
fi
cleanup() { if [[ -n $ours_policy ]]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get "${apt_opts[@]}" update -q
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"
cleanup; ours_policy=""

# Stop and disable the system services of packages we just installed. With
# or without systemd (containers have none); every step may fail harmlessly.
services=()
for p in "${missing[@]}"; do
    case $p in
        apache2) services+=(apache2) ;;
        redis-server) services+=(redis-server) ;;
        postgresql | postgresql-[0-9]* | postgresql-contrib) services+=(postgresql) ;;
    esac
done
mapfile -t services < <(printf '%s\n' "${services[@]}" | sort -u | sed '/^$/d')
for s in "${services[@]}"; do
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now "$s" >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null; then
        service "$s" stop >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/$s ]]; then
        "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null; then
        update-rc.d "$s" disable >/dev/null 2>&1 || true
    fi
    echo "deps.sh: system service $s stopped and disabled (the project runs its own)"
done
if [[ " ${services[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
    # Debian's own cluster(s): keep them from starting at boot, too.
    while read -r ver name _; do
        conf=/etc/postgresql/$ver/$name/start.conf
        [[ -f $conf ]] && echo manual >"$conf"
        pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
    done < <(pg_lsclusters -h 2>/dev/null || true)
fi

# Our ports (both instances) must be free for scripts/*.sh; a freshly
# installed package's daemon must not sit on one of them.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for inst in demo test; do
    # B2B_VAR is given only to skip env.sh's folder checks: unused here.
    ports=$(B2B_INSTANCE=$inst B2B_VAR=/nonexistent bash -c '. "$1" "$2" && echo "$B2B_PG_PORT $B2B_REDIS_PORT $B2B_ERP_PORT $B2B_HTTP_PORT"' _ "$here/env.sh" "$inst")
    for port in $ports; do
        busy=$(ss -Hltnp "( sport = :$port )" 2>/dev/null || true)
        if [[ -n $busy ]]; then
            echo "deps.sh: note: port $port ($inst) is in use (fine if it is one of this project's services):" >&2
            echo "$busy" >&2
        fi
    done
done
exit 0
