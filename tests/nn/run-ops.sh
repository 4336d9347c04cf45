#!/bin/sh
# Op test against TensorFlow.js: writes the op fixtures with ops.mjs when
# the script changed, then runs test_nn_ops on them.
# usage: run-ops.sh SOURCE_ROOT BUILD_TEST_DIR
set -eu
# Sanitizer builds: any report fails the test.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
src=$1
bin=$2
fixtures=$bin/ops-fixtures.json
stamp=$bin/ops-fixtures.sha256
sha256sum "$src/scripts/nn-reference/ops.mjs" \
    "$src/scripts/nn-reference/package-lock.json" >"$stamp.new"
if ! cmp -s "$stamp.new" "$stamp" || [ ! -s "$fixtures" ]; then
    refdir=$("$src/scripts/nn-reference/setup.sh")
    node "$refdir/ops.mjs" "$fixtures"
    mv "$stamp.new" "$stamp"
else
    rm -f "$stamp.new"
fi
exec "$bin/test_nn_ops" "$fixtures"
