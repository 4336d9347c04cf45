#!/bin/sh
# Runs the model.json fuzzer for a bounded time on a copy of the seed
# corpus.  usage: run-fuzz.sh FUZZER SEED_DIR WORK_DIR SECONDS
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seeds=$2
work=$3
seconds=$4
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 corpus 2>fuzz.log || {
    tail -50 fuzz.log >&2
    exit 1
}
grep -E "stat::number_of_executed_units|Done" fuzz.log || true
