#!/bin/sh
# Builds every libFuzzer target tests/fuzz/fuzz_*.c with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for a bounded
# time. Exits non-zero if a target fails to build or crashes, and then
# prints the command that reproduces the crash.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
#
# Environment:
#   FUZZ_BUILD_DIR  where binaries, the growing corpora and crash inputs
#                   go (default: build-fuzz in the source tree)
#   FUZZ_TARGETS    space-separated target names to run (default: all)
#
# Each target's header comment names what it is built from, one line
# each, so that a new target needs no change here:
#   fuzz-sources:   files under src/ to compile with the target
#   fuzz-packages:  pkg-config packages for their headers and libraries
#   fuzz-functions: if present, only these functions (and the target)
#                   get coverage instrumentation, and the linker drops
#                   the unused functions of the sources; for a parser
#                   that lives in a file whose other functions need
#                   half the daemon
# Seeds come from tests/fuzz/corpus/<target>/ and are never modified;
# new inputs are kept in FUZZ_BUILD_DIR/corpus/<target>/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
out=${FUZZ_BUILD_DIR:-$top/build-fuzz}

case "$seconds" in
'' | *[!0-9]*)
    echo "fuzz: invalid time '$seconds': expected whole seconds per" \
        "target, for example 20" >&2
    exit 2
    ;;
esac

cflags="-g -O1 -std=c17 -D_GNU_SOURCE -fno-omit-frame-pointer"
sanitize="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

# Returns success if clang can link a libFuzzer target.
fuzz_toolchain_ok() {
    command -v clang >/dev/null 2>&1 || return 1
    probe=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
        '{ return (int)(d == NULL && n > 0); }' >"$probe/probe.c"
    clang $sanitize "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1
    status=$?
    rm -rf "$probe"
    return $status
}

if ! fuzz_toolchain_ok; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: installing clang and libclang-rt-14-dev (libFuzzer)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            clang libclang-rt-14-dev >/dev/null ||
            { apt-get update -q >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                    clang libclang-rt-14-dev >/dev/null; }
    fi
    if ! fuzz_toolchain_ok; then
        echo "fuzz: clang cannot build libFuzzer targets. Install the" \
            "Debian packages clang and libclang-rt-14-dev as root:" \
            "apt-get install clang libclang-rt-14-dev" >&2
        exit 1
    fi
fi

mkdir -p "$out/corpus" "$out/crashes" || exit 1

# Prints the value of a "fuzz-KEY:" header line of file $2.
fuzz_header() {
    sed -n "s/^ \* fuzz-$1: *//p" "$2" | head -n 1
}

# Builds target $1 from tests/fuzz/$1.c into $out/$1.
fuzz_build() {
    name=$1
    src=$top/tests/fuzz/$name.c
    sources=$(fuzz_header sources "$src")
    packages=$(fuzz_header packages "$src")
    functions=$(fuzz_header functions "$src")
    extra=""
    paths=""

    for s in $sources; do
        paths="$paths $top/$s"
    done
    pkg=""
    if [ -n "$packages" ]; then
        pkg=$(pkg-config --cflags --libs $packages) || {
            echo "fuzz: $name: pkg-config cannot find: $packages" >&2
            return 1
        }
    fi
    if [ -n "$functions" ]; then
        allow=$out/$name.allowlist
        {
            echo "src:*"
            echo "fun:LLVMFuzzerTestOneInput"
            for f in $functions; do
                echo "fun:$f"
            done
        } >"$allow"
        extra="-fsanitize-coverage-allowlist=$allow -ffunction-sections"
        extra="$extra -fdata-sections -Wl,--gc-sections"
    fi
    # shellcheck disable=SC2086 # the flag lists split on purpose
    clang $cflags $sanitize $extra -I"$top/src" "$src" $paths $pkg \
        -lpthread -lm -o "$out/$name"
}

targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
    for src in "$top"/tests/fuzz/fuzz_*.c; do
        [ -e "$src" ] || continue
        targets="$targets $(basename "$src" .c)"
    done
fi

status=0
for name in $targets; do
    if [ ! -f "$top/tests/fuzz/$name.c" ]; then
        echo "fuzz: no target tests/fuzz/$name.c" >&2
        status=1
        continue
    fi
    if ! fuzz_build "$name"; then
        echo "fuzz: $name: build failed" >&2
        status=1
        continue
    fi
    seeds=$top/tests/fuzz/corpus/$name
    mkdir -p "$out/corpus/$name" "$out/crashes/$name"
    [ -d "$seeds" ] || seeds=""
    log=$out/$name.log
    echo "fuzz: $name for ${seconds}s"
    # shellcheck disable=SC2086 # $seeds is empty or one directory
    "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$name/" \
        "$out/corpus/$name" $seeds >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        status=1
        tail -n 40 "$log"
        artifact=$(ls -t "$out/crashes/$name/" 2>/dev/null | head -n 1)
        echo "fuzz: $name FAILED (exit $rc); log: $log"
        if [ -n "$artifact" ]; then
            echo "fuzz: reproduce with: $out/$name" \
                "$out/crashes/$name/$artifact"
        fi
    else
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $name passed (${runs:-?} runs)"
    fi
done
exit "$status"
