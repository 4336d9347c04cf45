#!/bin/sh
# vmsctl detect end to end: an image and a video through both models,
# PNG output, and usage errors.
# usage: run-detect-cli.sh SOURCE_ROOT BUILD_TEST_DIR
set -u
# Sanitizer builds: any report fails the test.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
src=$1
bin=$2
cli=$bin/nn_detect_cli
work=$bin/detect-cli
models=$src/models
pass=0
fail=0

check() {
    if eval "$2"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $1" >&2
    fi
}

"$src/scripts/fetch-models.sh" >/dev/null || exit 1
rm -rf "$work"
mkdir -p "$work"

"$cli" detect "$src/tests/data/images/dog.jpg" --models "$models" \
    --png "$work/dog.png" >"$work/dog.txt"
check "centernet on dog.jpg exits 0" '[ $? -eq 0 ]'
check "centernet finds the dog" 'grep -q "class=dog " "$work/dog.txt"'
check "centernet finds the bicycle" 'grep -q "class=bicycle " "$work/dog.txt"'
check "PNG written" '[ "$(head -c 8 "$work/dog.png" | od -An -tx1 | tr -d " ")" = 89504e470d0a1a0a ]'

"$cli" detect "$src/tests/data/images/person.jpg" --models "$models" \
    --model nanodet --letterbox --threads 2 >"$work/person.txt"
check "nanodet on person.jpg exits 0" '[ $? -eq 0 ]'
check "nanodet finds the person" 'grep -q "class=person " "$work/person.txt"'
check "nanodet finds the horse" 'grep -q "class=horse " "$work/person.txt"'

"$cli" detect "$src/tests/data/one-by-one-person-detection.mp4" \
    --models "$models" --every 100 --max-frames 10 --score 0.35 \
    >"$work/video.txt"
check "video exits 0" '[ $? -eq 0 ]'
check "video finds a person" 'grep -q "class=person " "$work/video.txt"'
check "video lines carry frame numbers" 'grep -q "^frame=[0-9]* time=" "$work/video.txt"'

"$cli" detect "$src/tests/data/images/dog.jpg" --model yolo 2>"$work/err1.txt"
check "unknown model exits 2" '[ $? -eq 2 ]'
check "unknown model message" 'grep -q "invalid --model" "$work/err1.txt"'

"$cli" detect "$work/missing.jpg" --models "$models" 2>"$work/err2.txt"
check "missing file exits 1" '[ $? -eq 1 ]'
check "missing file message" 'grep -q "missing.jpg" "$work/err2.txt"'

"$cli" detect "$src/tests/data/images/dog.jpg" --models "$work/none" \
    2>"$work/err3.txt"
check "missing models exits 1" '[ $? -eq 1 ]'
check "missing models message" 'grep -q "fetch-models" "$work/err3.txt"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
