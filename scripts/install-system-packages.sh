#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's chromium (the Airflow UI browser test).
# Idempotent; run by `make setup`. Without root and without chromium it says so and the browser test is skipped.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "note: chromium is not installed and we are not root; install Debian's 'chromium' for the UI test" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed $(chromium --version)"
