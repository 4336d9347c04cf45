#!/bin/sh
# Benchmark of the nn runtime against TensorFlow.js in the same run:
# bench_nn (C runtime, 1 and 2 threads, sgemm peak) then bench.mjs
# (TensorFlow.js WASM and CPU backends).  Prints a Markdown table and
# the speed-up of the C runtime over TensorFlow.js WASM.
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

# Summary table from the JSON lines, then the C runtime's speed-up over
# TensorFlow.js WASM (its fastest configuration, which runs on 1 thread)
# per model and thread count.
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
const rows = [];
const wasm = {};
for (const l of lines) {
  if (l.what === "model") {
    const pool = l.threads > 1 ? `; per run ${l.alone_per_run} of ${l.loops_per_run} loops without a worker, ${l.steals_per_run} steals, ${l.wait_ms_per_run} ms waiting` : "";
    rows.push(`| ${l.model} | C runtime | ${l.threads} | ${l.median_ms} | ${l.p90_ms} | load ${l.load}; ${l.gflops} GFLOP/s = ${l.percent_of_peak}% of best sgemm ${l.sgemm_peak_gflops}, ${l.percent_of_sgemm_median}% of median sgemm${pool} |`);
  }
  if (l.backend) rows.push(`| ${l.model} | tfjs ${l.backend}${l.simd ? " SIMD" : ""} | ${l.threads} (${l.threads_requested} requested) | ${l.median_ms.toFixed(1)} | ${l.p90_ms.toFixed(1)} | ${l.runs} runs |`);
  if (l.backend === "wasm" && !(wasm[l.model] <= l.median_ms)) wasm[l.model] = l.median_ms;
}
rows.sort();
console.log("| model | engine | threads | median ms | p90 ms | notes |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
console.log();
for (const l of lines)
  if (l.what === "model" && wasm[l.model])
    console.log(`${l.model}, C on ${l.threads} thread${l.threads > 1 ? "s" : ""}: ${(wasm[l.model] / l.median_ms).toFixed(1)}x faster than tfjs WASM (${wasm[l.model].toFixed(1)} ms)`);
' "$out"
