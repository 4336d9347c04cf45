#!/bin/sh
# Installs the Debian 12 packages that building, running and testing the
# project need. Runs as root; installs only what is missing, so a second
# run takes seconds.
set -eu

PACKAGES="
build-essential meson ninja-build pkg-config
libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
libwebsockets-dev libssl-dev libjansson-dev libsqlite3-dev sqlite3
libsodium-dev libxml2-dev libpq-dev libopenblas-dev libcmocka-dev
libgstreamer1.0-dev libgstrtspserver-1.0-dev
gstreamer1.0-plugins-base gstreamer1.0-plugins-good
gstreamer1.0-plugins-bad gstreamer1.0-tools
ffmpeg curl ca-certificates python3
clang libclang-rt-14-dev
chromium
"

# Node.js runs the browser tests. A machine that already has a node and
# npm (Debian's or another vendor's) keeps them; otherwise Debian's are used.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages:$missing" >&2
        echo "install-deps: run 'make deps' as root to install them" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
