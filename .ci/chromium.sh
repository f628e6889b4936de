#!/usr/bin/env bash
# Make Debian's chromium available for the web board's browser test (Playwright drives it by its path:
# nothing is downloaded by Playwright). Idempotent: does nothing where chromium is installed already.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "chromium.sh: not root and no sudo; the browser test will say why it cannot run" >&2
        exit 0
    fi
fi
# Other installs may hold the dpkg lock on a shared machine: wait for it rather than fail.
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    chromium >/dev/null
/usr/bin/chromium --version
