#!/bin/sh
# Model test against TensorFlow.js: prepares inputs from the test images
# and video frames, runs the models in TensorFlow.js (reference.mjs) when
# the inputs changed, then compares with the C runtime.
# usage: run-models.sh SOURCE_ROOT BUILD_TEST_DIR [THREADS]
set -eu
# Sanitizer builds: any report fails the test.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
src=$1
bin=$2
threads=${3:-1}
work=$bin/reference
models=$src/models
img=$src/tests/data/images
vid=$src/tests/data

"$src/scripts/fetch-models.sh" >/dev/null
mkdir -p "$work"
"$bin/nn_prep" "$models" "$work" \
    dog="$img/dog.jpg" person="$img/person.jpg" horses="$img/horses.jpg" \
    kite="$img/kite.jpg" car="$vid/car-detection.mp4@225" \
    walker="$vid/one-by-one-person-detection.mp4@800"
# Inputs are deterministic, so the reference is reused while they match.
stamp=$work/inputs.sha256
(cd "$work" && sha256sum cases.json ./*.in.f32) >"$stamp.new"
if ! cmp -s "$stamp.new" "$stamp" || [ ! -f "$work/walker.nanodet.ref.json" ]; then
    refdir=$("$src/scripts/nn-reference/setup.sh")
    node "$refdir/reference.mjs" "$models" "$work"
    mv "$stamp.new" "$stamp"
else
    rm -f "$stamp.new"
fi
exec "$bin/test_nn_models" "$models" "$work" "$threads"
