#!/usr/bin/env bash
# System packages beyond Python, from Debian: chromium (the Airflow UI browser test) and redis-server (the
# Celery broker of `make airflow-celery` and tests/test_celery.py). Idempotent; run by `make setup`.
# Without root, a missing package is named and the test that needs it is skipped with that reason.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "note: not installed and we are not root: ${missing[*]} (Debian packages); the tests that need them skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package starts a system-wide redis on port 6379; arrears runs its own under $ARREARS_HOME instead.
if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
for package in "${missing[@]}"; do
    echo "installed $package $(dpkg-query -W -f='${Version}' "$package")"
done
