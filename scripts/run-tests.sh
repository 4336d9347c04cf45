#!/bin/sh
# Builds the project twice (a normal build and an ASan+UBSan build) and
# runs every test suite in both, then prints one line
# "N passed, N failed" and exits non-zero if any test failed.
#
# A skipped test counts as failed: a test that cannot run proves
# nothing. The ASan run uses the normal build's test camera, because
# the camera's GLib start-up allocations are not ours to fix.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
status=0

setup() {
    dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || {
            cat "$dir.setup.log"
            echo "run-tests: meson setup $dir failed" >&2
            return 1
        }
    fi
    ninja -C "$dir" >"$dir.ninja.log" 2>&1 || {
        tail -50 "$dir.ninja.log"
        echo "run-tests: build in $dir failed" >&2
        return 1
    }
}

if ! setup build; then
    echo "0 passed, 1 failed"
    exit 1
fi
if ! setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debug; then
    echo "0 passed, 1 failed"
    exit 1
fi

meson test -C build --num-processes "$jobs" --print-errorlogs ||
    status=1
# A small quarantine keeps ASan's own memory use close to the program's,
# so the tests that bound the daemon's memory stay meaningful.
# The crash loop's 30 kills prove recovery in the normal build. Under
# ASan, 10 kills check memory safety across restarts in a third of the
# time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:quarantine_size_mb=16 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0" \
VMS_CRASH_KILLS=10 \
FAKE_CAMERA="$top/build/tests/fixtures/fake-camera/fake-camera" \
    meson test -C build-asan --num-processes "$jobs" --print-errorlogs \
        --timeout-multiplier 3 --no-suite fake-camera || status=1

# Count results from meson's machine-readable logs.
python3 - "$top/build/meson-logs/testlog.json" \
    "$top/build-asan/meson-logs/testlog.json" <<'PY'
import json
import sys

passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
            print(f"failed: {json.loads(line).get('name')} ({result}) "
                  f"in {path.split('/')[-3]}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
counted=$?
[ "$counted" -ne 0 ] && status=1
exit "$status"
