#!/usr/bin/env bash
# Make a CUPS scheduler available for the label-printing tests: install Debian's cups, cups-client,
# poppler-utils (pdftoppm rasterises PDF labels for decoding) and fonts-dejavu-core (the label
# typeface, whose widths the ZPL golden files depend on) if missing, then start cupsd.
# Idempotent: safe to run again on a machine where everything is already installed and running.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "cups.sh: not root and no sudo; the CUPS tests will say why they cannot run" >&2
        exit 0
    fi
fi

need=()
for pkg in cups cups-client poppler-utils fonts-dejavu-core; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    # Other installs may hold the dpkg lock on a shared machine: wait for it rather than fail.
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
fi

# lpstat -r answers "scheduler is running" only when cupsd accepts connections.
if ! lpstat -r 2>/dev/null | grep -q "is running"; then
    $SUDO mkdir -p /run/cups
    # Started by hand: the machine may have no service manager running (containers, CI).
    $SUDO /usr/sbin/cupsd
    for _ in $(seq 1 50); do
        lpstat -r 2>/dev/null | grep -q "is running" && break
        sleep 0.2
    done
fi
lpstat -r
