#!/usr/bin/env bash
# Waits until the portal at $1 serves a compiled price snapshot (or $2 s).
set -euo pipefail
url=$1; secs=${2:-60}
for ((i = 0; i < secs * 2; i++)); do
    if curl -fs -u portal-admin:demo "$url/api/v1/admin/status" \
        | grep -q '"state":"serving"'; then
        curl -fs -u portal-admin:demo "$url/api/v1/admin/status" \
            | perl -MJSON::PP -e '$p = decode_json(join "", <STDIN>)->{pricing};
                printf "snapshot: generation %d, %d rules, %.1f MB, built in %d ms\n",
                $p->{generation}, $p->{rules}, $p->{bytes} / 1048576, $p->{last_build_ms}'
        exit 0
    fi
    sleep 0.5
done
echo "no price snapshot after $secs s" >&2
exit 1
