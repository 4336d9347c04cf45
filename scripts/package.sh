#!/bin/sh
# Builds the release package OUTPUT_DIR/vms_VERSION_ARCH.deb with vmsd,
# vmsctl, the operator page, the detection models with their licences
# and manifest, the example configuration and the README. Programs go to
# /usr/bin, data to /usr/share/vms, the example to /etc/vms. The models
# are checked against models/MANIFEST.sha256 before and after staging.
#
# usage: scripts/package.sh [BUILD_DIR [OUTPUT_DIR]]
#   BUILD_DIR   a meson build directory with prefix /usr (default
#               build-release, set up as a release build when missing)
#   OUTPUT_DIR  where the .deb and its .sha256 go (default dist)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-release}
out=${2:-$top/dist}

"$top/scripts/fetch-models.sh"
# The tested configuration (-O2, as `make test` builds), stripped when
# installed.
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top" --prefix=/usr -Dwerror=true >/dev/null
fi
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
if [ "$prefix" != /usr ]; then
    echo "package: $build has prefix $prefix, but the package installs" \
         "under /usr: give a new build directory, which this script sets" \
         "up with prefix /usr" >&2
    exit 2
fi
ninja -C "$build" >"$build.package.log" 2>&1 || {
    tail -30 "$build.package.log" >&2
    echo "package: the build in $build failed" >&2
    exit 1
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage/root" --no-rebuild --strip \
    --quiet
(cd "$stage/root/usr/share/vms/models" &&
    sha256sum --check --quiet --strict MANIFEST.sha256) || {
    echo "package: the staged models do not match MANIFEST.sha256" >&2
    exit 1
}

version=$(meson introspect "$build" --projectinfo |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
# dpkg-shlibdeps reads the Debian packages of the libraries that the
# programs link from a source tree with a debian/control file.
mkdir -p "$stage/shlibs/debian"
printf 'Source: vms\n' >"$stage/shlibs/debian/control"
depends=$(cd "$stage/shlibs" &&
    dpkg-shlibdeps -O -e"$stage/root/usr/bin/vmsd" \
        -e"$stage/root/usr/bin/vmsctl" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
    echo "package: dpkg-shlibdeps found no library packages for vmsd" \
         "and vmsctl; install dpkg-dev and run the script again" >&2
    exit 1
fi
mkdir -p "$stage/root/DEBIAN"
cat >"$stage/root/DEBIAN/control" <<CONTROL
Package: vms
Version: $version
Architecture: $arch
Maintainer: VMS developers <vms@localhost>
Depends: $depends
Section: video
Priority: optional
Description: video management system for air-gapped sites
 vmsd records IP cameras over RTSP and serves live view, playback,
 export, users and rights over HTTPS. vmsctl administers it and runs
 the bundled centernet and nanodet object detectors on local footage.
 The package makes no network connection of its own.
CONTROL

mkdir -p "$out"
deb=$out/vms_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage/root" "$deb" >/dev/null
(cd "$out" && sha256sum "$(basename "$deb")" >"$(basename "$deb").sha256")
echo "package: $deb ($(du -h "$deb" | cut -f1))"
