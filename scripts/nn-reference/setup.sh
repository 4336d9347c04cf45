#!/bin/sh
# Install the pinned TensorFlow.js packages for the reference scripts with
# `npm ci` into DIR (default: $VMS_NN_REFERENCE_DIR or
# /var/cache/vms-nn-reference), outside the source tree.  Prints DIR.
# Quick when the installed lock file already matches.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${VMS_NN_REFERENCE_DIR:-/var/cache/vms-nn-reference}}
mkdir -p "$dir"
if [ -d "$dir/node_modules/@tensorflow/tfjs" ] &&
    cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
    :
else
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
for f in "$src"/*.mjs; do
    cp "$f" "$dir/"
done
echo "$dir"
