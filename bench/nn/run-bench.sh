#!/bin/sh
# Benchmark of the nn runtime against TensorFlow.js in the same run:
# bench_nn (C runtime, 1 and 2 threads, sgemm peak) then bench.mjs
# (TensorFlow.js WASM and CPU backends).  Prints a Markdown table.
#
# usage: bench/nn/run-bench.sh BUILD_DIR [RUNS] [WARMUP]
# BUILD_DIR is a meson build directory of this repository.
set -eu
build=$1
runs=${2:-20}
warmup=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$root/scripts/fetch-models.sh" >/dev/null
ninja -C "$build" tests/nn/bench_nn >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/tests/nn/bench_nn" "$root/models" "$runs" "$warmup" 1 2 | tee "$out"
refdir=$("$root/scripts/nn-reference/setup.sh")
node "$refdir/bench.mjs" "$root/models" "$runs" "$warmup" 2>/dev/null | tee -a "$out"

# Summary table from the JSON lines.
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
const rows = [];
for (const l of lines) {
  if (l.what === "model") rows.push(`| ${l.model} | C runtime | ${l.threads} | ${l.median_ms} | ${l.p90_ms} | ${l.gflops} GFLOP/s = ${l.percent_of_peak}% of sgemm ${l.sgemm_peak_gflops} |`);
  if (l.backend) rows.push(`| ${l.model} | tfjs ${l.backend}${l.simd ? " SIMD" : ""} | ${l.threads} (${l.threads_requested} requested) | ${l.median_ms.toFixed(1)} | ${l.p90_ms.toFixed(1)} | ${l.runs} runs |`);
}
rows.sort();
console.log("| model | engine | threads | median ms | p90 ms | notes |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
' "$out"
