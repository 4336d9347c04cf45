// Benchmarks the detection models in TensorFlow.js with the WebAssembly
// backend (SIMD, and threads where the platform supports them) and the
// plain CPU backend, as the baseline for bench/nn.
//
// usage: node bench.mjs MODELS_DIR [RUNS] [WARMUP]
// Prints one JSON object per line: {backend, threads_requested, threads,
// simd, model, median_ms, p90_ms, runs}.  Node.js has no threaded WASM
// build of the backend, so "threads" reports what the backend really uses.
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { loadModel } from './reference.mjs';

const require = createRequire(import.meta.url);

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return {
    median_ms: s[Math.floor((s.length - 1) / 2)],
    p90_ms: s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)],
  };
}

async function benchModel(model, runs, warmup) {
  const info = model.inputs[0];
  const input = tf.randomUniform(info.shape, 0, 1, 'float32', 42);
  const names = model.outputs.map((o) => o.name);
  const once = async () => {
    const t0 = performance.now();
    const outs = model.execute({ [info.name]: input }, names);
    const list = Array.isArray(outs) ? outs : [outs];
    await Promise.all(list.map((t) => t.data()));
    const dt = performance.now() - t0;
    tf.dispose(list);
    return dt;
  };
  for (let i = 0; i < warmup; i++) await once();
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  input.dispose();
  return { ...stats(times), runs };
}

// Registering the wasm backend twice is not supported, so each
// configuration runs in a child process (see run()).
async function run(backend, threads, modelsDir, runs, warmup) {
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  if (backend === 'wasm') {
    wasm.setWasmPaths(`${wasmDir}/`);
    wasm.setThreadsCount(threads);
  }
  await tf.setBackend(backend);
  await tf.ready();
  let simd = false;
  let actualThreads = 1;
  if (backend === 'wasm') {
    simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    actualThreads = wasm.getThreadsCount();
  }
  for (const name of ['centernet', 'nanodet']) {
    const model = await loadModel(path.join(modelsDir, name, `${name}.json`));
    const r = await benchModel(model, runs, warmup);
    console.log(JSON.stringify({ backend, threads_requested: threads, threads: actualThreads, simd, model: name, ...r }));
    model.dispose();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--one') {
  const [, backend, threads, modelsDir, runs, warmup] = args;
  run(backend, Number(threads), modelsDir, Number(runs), Number(warmup)).catch((e) => {
    console.error(`bench: ${e.stack || e}`);
    process.exit(1);
  });
} else {
  const { execFileSync } = await import('node:child_process');
  const [modelsDir, runs = '20', warmup = '3'] = args;
  if (!modelsDir) {
    console.error('usage: node bench.mjs MODELS_DIR [RUNS] [WARMUP]');
    process.exit(2);
  }
  // The plain CPU backend takes seconds per inference: 3 runs, 1 warm-up.
  for (const [backend, threads] of [['wasm', 1], ['wasm', 2], ['cpu', 1]]) {
    const r = backend === 'cpu' ? String(Math.min(Number(runs), 3)) : runs;
    const w = backend === 'cpu' ? '1' : warmup;
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--one', backend, String(threads), modelsDir, r, w],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    process.stdout.write(out.split('\n').filter((l) => l.startsWith('{')).join('\n') + '\n');
  }
}
