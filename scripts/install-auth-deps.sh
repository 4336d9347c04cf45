#!/bin/sh
# Installs the Debian 12 packages that the security module (src/auth)
# and its tests need: libsodium for password hashes and tokens, libldap
# for directory login, slapd and ldap-utils for the directory test (the
# test starts its own slapd on loopback; the packaged service is never
# configured or started here), and libqrencode for enrolment QR codes.
# Runs as root; installs only what is missing, so a second run is quick.
set -eu

PACKAGES="
libsodium-dev libssl-dev openssl libsqlite3-dev
libldap-dev slapd ldap-utils
libqrencode-dev
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-auth-deps: missing packages:$missing" >&2
    echo "install-auth-deps: run this script as root to install them" >&2
    exit 1
fi

echo "install-auth-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# slapd's maintainer scripts would otherwise create and start a system
# directory; the tests need only the binary.
if ! [ -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
