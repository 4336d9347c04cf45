// Writes the op fixtures for tests/nn/test_nn_ops.c: for every op the
// runtime implements, random inputs (fixed seed, odd sizes, every padding
// mode the op has) and the outputs that TensorFlow.js (CPU backend)
// computes for them.
//
// usage: node ops.mjs OUT.json
//
// Each case: {name, op, attr, inputs: [{dtype, shape, data, const}],
// outputs: [{dtype, shape, data}]}.  attr uses the encoding of
// model.json (strings base64, integer lists as strings).
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';

let seed = 12345;
// mulberry32: small deterministic generator so fixtures are reproducible.
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const randf = (shape, lo = -1, hi = 1) => Array.from({ length: size(shape) }, () => lo + (hi - lo) * rand());
const randi = (shape, lo, hi) => Array.from({ length: size(shape) }, () => lo + Math.floor((hi - lo) * rand()));

const b64 = (s) => Buffer.from(s).toString('base64');
const A = {
  s: (v) => ({ s: b64(v) }),
  ints: (v) => ({ list: { i: v.map(String) } }),
  strs: (v) => ({ list: { s: v.map(b64) } }),
  i: (v) => ({ i: String(v) }),
  f: (v) => ({ f: v }),
  b: (v) => ({ b: v }),
  type: (v) => ({ type: v }),
};

const cases = [];
function input(dtype, shape, data, isConst = false) {
  return { dtype, shape, data, const: isConst };
}
async function add(name, op, attr, inputs, fn) {
  const ts = inputs.map((x) => tf.tensor(x.data, x.shape, x.dtype));
  let outs = fn(...ts);
  if (!Array.isArray(outs)) outs = [outs];
  const outputs = [];
  for (const o of outs) {
    const data = Array.from(await o.data(), (v) => (typeof v === 'boolean' ? Number(v) : v));
    outputs.push({ dtype: o.dtype, shape: o.shape, data });
  }
  cases.push({ name, op, attr, inputs, outputs });
  tf.dispose([...ts, ...outs]);
}

const padName = (p) => (Array.isArray(p) ? 'EXPLICIT' : p.toUpperCase());
function convAttr(strides, pad, dil, fused) {
  const a = {
    strides: A.ints([1, strides[0], strides[1], 1]),
    padding: A.s(padName(pad)),
    data_format: A.s('NHWC'),
    dilations: A.ints([1, dil[0], dil[1], 1]),
  };
  if (Array.isArray(pad)) a.explicit_paddings = A.ints(pad.flat());
  if (fused) {
    a.fused_ops = A.strs(fused);
    a.num_args = A.i(1);
  }
  return a;
}

async function convCases() {
  const acts = { Relu: 'relu', Relu6: 'relu6', LeakyRelu: 'leakyrelu', Sigmoid: 'sigmoid' };
  const configs = [
    { x: [1, 7, 9, 5], k: [3, 3], oc: 6, s: [1, 1], pad: 'same', d: [1, 1] },
    { x: [1, 8, 11, 3], k: [3, 3], oc: 4, s: [2, 2], pad: 'same', d: [1, 1] },
    { x: [2, 9, 7, 4], k: [3, 2], oc: 5, s: [2, 1], pad: 'valid', d: [1, 1] },
    { x: [1, 6, 6, 8], k: [1, 1], oc: 7, s: [1, 1], pad: 'same', d: [1, 1] },
    { x: [1, 5, 7, 3], k: [1, 1], oc: 2, s: [2, 2], pad: 'valid', d: [1, 1] },
    { x: [1, 10, 9, 3], k: [3, 3], oc: 4, s: [1, 1], pad: 'valid', d: [2, 2] },
    { x: [1, 7, 8, 3], k: [3, 3], oc: 5, s: [2, 2],
      pad: [[0, 0], [1, 2], [0, 1], [0, 0]], d: [1, 1] },
    { x: [1, 13, 12, 17], k: [5, 5], oc: 9, s: [2, 2], pad: 'same', d: [1, 1] },
    // Few input channels and 8..64 outputs: the direct AVX2 stem kernel.
    { x: [1, 17, 15, 3], k: [3, 3], oc: 16, s: [2, 2], pad: 'same', d: [1, 1] },
    { x: [2, 11, 12, 3], k: [3, 3], oc: 32, s: [1, 1], pad: 'valid', d: [1, 1] },
    { x: [1, 12, 13, 2], k: [3, 3], oc: 8, s: [1, 1], pad: 'same', d: [2, 1] },
    { x: [1, 9, 10, 4], k: [2, 3], oc: 24, s: [2, 2],
      pad: [[0, 0], [1, 0], [2, 1], [0, 0]], d: [1, 1] },
    { x: [1, 7, 6, 1], k: [3, 3], oc: 64, s: [1, 1], pad: 'same', d: [1, 1] },
    // 3x3 stride 1 with at least 16 channels in and out: Winograd F(2x2, 3x3),
    // with odd output sizes so that edge tiles are cropped.
    { x: [1, 9, 11, 16], k: [3, 3], oc: 16, s: [1, 1], pad: 'same', d: [1, 1] },
    { x: [2, 8, 7, 20], k: [3, 3], oc: 19, s: [1, 1], pad: 'valid', d: [1, 1] },
    { x: [1, 10, 13, 24], k: [3, 3], oc: 32, s: [1, 1],
      pad: [[0, 0], [1, 1], [0, 2], [0, 0]], d: [1, 1] },
    { x: [1, 21, 19, 40], k: [3, 3], oc: 24, s: [1, 1], pad: 'same', d: [1, 1] },
  ];
  let n = 0;
  for (const c of configs) {
    const xin = input('float32', c.x, randf(c.x));
    const fshape = [c.k[0], c.k[1], c.x[3], c.oc];
    const fin = input('float32', fshape, randf(fshape, -0.5, 0.5), true);
    await add(`conv2d_${n}`, 'Conv2D', convAttr(c.s, c.pad, c.d), [xin, fin],
      (x, f) => tf.conv2d(x, f, c.s, c.pad, 'NHWC', c.d));
    const bias = input('float32', [c.oc], randf([c.oc]), true);
    for (const [tfname, act] of [['', null], ...Object.entries(acts)]) {
      if (Array.isArray(c.pad) && act) continue;
      const fusedOps = act ? ['BiasAdd', tfname] : ['BiasAdd'];
      const attr = convAttr(c.s, c.pad, c.d, fusedOps);
      if (act === 'leakyrelu') attr.leakyrelu_alpha = A.f(0.1);
      await add(`fused_conv2d_${n}_${act || 'none'}`, '_FusedConv2D', attr, [xin, fin, bias],
        (x, f, b) => tf.fused.conv2d({ x, filter: f, strides: c.s, pad: c.pad, dilations: c.d,
          bias: b, activation: act || 'linear', leakyreluAlpha: 0.1 }));
    }
    n++;
  }
  const dwConfigs = [
    { x: [1, 7, 9, 5], k: [3, 3], m: 1, s: [1, 1], pad: 'same', d: [1, 1] },
    { x: [1, 8, 11, 16], k: [3, 3], m: 1, s: [2, 2], pad: 'same', d: [1, 1] },
    { x: [2, 9, 7, 12], k: [5, 5], m: 1, s: [2, 2], pad: 'same', d: [1, 1] },
    { x: [1, 9, 8, 19], k: [3, 3], m: 1, s: [1, 1], pad: 'valid', d: [1, 1] },
    { x: [1, 6, 7, 3], k: [3, 3], m: 2, s: [1, 1], pad: 'same', d: [1, 1] },
    { x: [1, 11, 10, 9], k: [3, 3], m: 1, s: [1, 1], pad: 'same', d: [2, 2] },
  ];
  n = 0;
  for (const c of dwConfigs) {
    const xin = input('float32', c.x, randf(c.x));
    const fshape = [c.k[0], c.k[1], c.x[3], c.m];
    const fin = input('float32', fshape, randf(fshape), true);
    await add(`depthwise_${n}`, 'DepthwiseConv2dNative', convAttr(c.s, c.pad, c.d), [xin, fin],
      (x, f) => tf.depthwiseConv2d(x, f, c.s, c.pad, 'NHWC', c.d));
    const oc = c.x[3] * c.m;
    const bias = input('float32', [oc], randf([oc]), true);
    for (const [tfname, act] of [['', null], ['Relu', 'relu'], ['Relu6', 'relu6']]) {
      const fusedOps = act ? ['BiasAdd', tfname] : ['BiasAdd'];
      await add(`fused_depthwise_${n}_${act || 'none'}`, 'FusedDepthwiseConv2dNative',
        convAttr(c.s, c.pad, c.d, fusedOps), [xin, fin, bias],
        (x, f, b) => tf.fused.depthwiseConv2d({ x, filter: f, strides: c.s, pad: c.pad,
          dilations: c.d, bias: b, activation: act || 'linear' }));
    }
    n++;
  }
}

async function elementwiseCases() {
  const shapes = [
    [[2, 3, 5], [2, 3, 5]], [[2, 3, 5], [5]], [[2, 3, 5], []], [[], [4, 3]],
    [[1, 4, 1, 6], [4, 3, 1]], [[3, 1], [1, 7]],
  ];
  const ops = { Add: tf.add, AddV2: tf.add, Sub: tf.sub, Mul: tf.mul };
  let n = 0;
  for (const [sa, sb] of shapes) {
    for (const [op, fn] of Object.entries(ops)) {
      await add(`${op.toLowerCase()}_f_${n}`, op, {},
        [input('float32', sa, randf(sa)), input('float32', sb, randf(sb), n % 2 === 1)], fn);
    }
    const ia = randi(sa, -20, 20);
    const ib = randi(sb, 1, 7).map((v, i) => (i % 2 ? -v : v));
    for (const [op, fn] of [['FloorDiv', tf.floorDiv], ['FloorMod', tf.mod], ['Mul', tf.mul],
      ['Add', tf.add], ['Sub', tf.sub], ['Equal', tf.equal]]) {
      await add(`${op.toLowerCase()}_i_${n}`, op, {},
        [input('int32', sa, ia), input('int32', sb, ib, true)], fn);
    }
    const fa = randf(sa, -9, 9);
    const fb = randf(sb, 0.5, 3).map((v, i) => (i % 2 ? -v : v));
    await add(`floordiv_f_${n}`, 'FloorDiv', {}, [input('float32', sa, fa), input('float32', sb, fb, true)], tf.floorDiv);
    await add(`floormod_f_${n}`, 'FloorMod', {}, [input('float32', sa, fa), input('float32', sb, fb, true)], tf.mod);
    const qa = randi(sa, 0, 3);
    const qb = randi(sb, 0, 3);
    await add(`equal_f_${n}`, 'Equal', {}, [input('float32', sa, qa), input('float32', sb, qb)], tf.equal);
    n++;
  }
  for (const shape of [[3, 7, 5], [1, 100003]]) {
    const x = input('float32', shape, randf(shape, -9, 9));
    await add(`relu_${shape.length}`, 'Relu', {}, [x], tf.relu);
    await add(`relu6_${shape.length}`, 'Relu6', {}, [x], tf.relu6);
    await add(`sigmoid_${shape.length}`, 'Sigmoid', {}, [x], tf.sigmoid);
    await add(`leakyrelu_${shape.length}`, 'LeakyRelu', { alpha: A.f(0.1) }, [x], (t) => tf.leakyRelu(t, 0.1));
    await add(`identity_${shape.length}`, 'Identity', {}, [x], (t) => tf.clone(t));
  }
}

async function shapeCases() {
  const x = [2, 5, 7, 3];
  const xin = input('float32', x, randf(x));
  for (const [axes, keep] of [[[1, 2], true], [[1, 2], false], [[3], true], [[0, 3], false], [[-1], false]]) {
    await add(`mean_${axes.join('_')}_${keep}`, 'Mean', { keep_dims: A.b(keep) },
      [xin, input('int32', [axes.length], axes, true)], (t) => tf.mean(t, axes, keep));
  }
  for (const [k, s, pad] of [[[3, 3], [1, 1], 'same'], [[3, 3], [2, 2], 'valid'], [[2, 3], [2, 2], 'same'], [[3, 2], [1, 2], 'valid']]) {
    await add(`maxpool_${k.join('')}_${s.join('')}_${pad}`, 'MaxPool',
      { ksize: A.ints([1, ...k, 1]), strides: A.ints([1, ...s, 1]), padding: A.s(pad.toUpperCase()), data_format: A.s('NHWC') },
      [xin], (t) => tf.maxPool(t, k, s, pad));
  }
  for (const [size, ac, hp] of [[[10, 14], false, false], [[10, 14], true, false], [[10, 14], false, true],
    [[3, 4], false, false], [[3, 4], true, false], [[3, 4], false, true], [[1, 1], true, false], [[11, 13], false, true]]) {
    await add(`resize_${size.join('x')}_${ac}_${hp}`, 'ResizeBilinear',
      { align_corners: A.b(ac), half_pixel_centers: A.b(hp) },
      [xin, input('int32', [2], size, true)], (t) => tf.image.resizeBilinear(t, size, ac, hp));
  }
  const y = [2, 5, 4, 3];
  const yin = input('float32', y, randf(y));
  for (const axis of [2, -1, 0]) {
    const oth = axis === 2 ? [2, 5, 2, 3] : axis === -1 ? [2, 5, 7, 4] : [1, 5, 7, 3];
    await add(`concat_${axis}`, 'ConcatV2', { N: A.i(3) },
      [xin, input('float32', oth, randf(oth)), xin, input('int32', [], [axis], true)],
      (a, b, c) => tf.concat([a, b, c], axis));
  }
  await add('concat_int', 'ConcatV2', { N: A.i(2) },
    [input('int32', [3, 2], randi([3, 2], -5, 5)), input('int32', [3, 4], randi([3, 4], -5, 5)), input('int32', [], [1], true)],
    (a, b) => tf.concat([a, b], 1));
  await add('reshape', 'Reshape', {}, [yin, input('int32', [3], [10, -1, 3], true)], (t) => tf.reshape(t, [10, -1, 3]));
  for (const d of [0, 2, -1]) {
    await add(`expand_dims_${d}`, 'ExpandDims', {}, [yin, input('int32', [], [d], true)], (t) => tf.expandDims(t, d));
  }
  const castIn = [-2.7, -0.5, 0, 0.4, 1.6, 3, 1e10, -1e10];
  await add('cast_f_i', 'Cast', { DstT: A.type('DT_INT32') }, [input('float32', [8], castIn)], (t) => tf.cast(t, 'int32'));
  await add('cast_i_f', 'Cast', { DstT: A.type('DT_FLOAT') }, [input('int32', [5], [-3, 0, 7, 100000, -2])], (t) => tf.cast(t, 'float32'));
  await add('cast_f_b', 'Cast', { DstT: A.type('DT_BOOL') }, [input('float32', [8], castIn)], (t) => tf.cast(t, 'bool'));
  for (const axis of [0, 1, 2, -1]) {
    const idxShape = axis === 1 ? [2, 3] : [4];
    const dim = y[axis < 0 ? axis + 4 : axis];
    const idx = randi(idxShape, 0, dim);
    await add(`gather_${axis}`, 'GatherV2', { batch_dims: A.i(0) },
      [yin, input('int32', idxShape, idx), input('int32', [], [axis], true)], (t, i) => tf.gather(t, i, axis));
  }
  const sl = [
    [[0, 1, 0, 0], [2, 4, 4, 3], [1, 1, 1, 1], 0, 0, 0],
    [[0, 0, 0, 1], [0, 0, 0, 2], [1, 1, 1, 1], 7, 7, 0],
    [[1, 4, 0, 0], [2, 1, 4, 3], [1, -1, 2, 1], 12, 8, 0],
    [[0, 2, 1, 0], [2, 3, 3, 3], [1, 1, 1, 1], 0, 0, 2],
    [[0, 0], [2, 5], [1, 2], 0, 0, 0],
    // NOTE: tfjs 4.22 (CPU backend) returns wrong rows when a shrink axis
    // is combined with a stride of 2 on another axis, so no such case here.
    [[0, 1, 2, 0], [2, 5, 3, 3], [1, 1, 1, 1], 0, 0, 4],
  ];
  let n = 0;
  for (const [b, e, s, bm, em, sm] of sl) {
    await add(`strided_slice_${n++}`, 'StridedSlice',
      { begin_mask: A.i(bm), end_mask: A.i(em), shrink_axis_mask: A.i(sm), ellipsis_mask: A.i(0), new_axis_mask: A.i(0) },
      [yin, input('int32', [b.length], b, true), input('int32', [e.length], e, true), input('int32', [s.length], s, true)],
      (t) => tf.stridedSlice(t, b, e, s, bm, em, 0, 0, sm));
  }
  await add('topk_random', 'TopKV2', { sorted: A.b(true) },
    [input('float32', [3, 50], randf([3, 50])), input('int32', [], [7], true)], (t) => { const r = tf.topk(t, 7, true); return [r.values, r.indices]; });
  await add('topk_ties', 'TopKV2', { sorted: A.b(true) },
    [input('float32', [2, 40], randi([2, 40], 0, 4)), input('int32', [], [9], true)], (t) => { const r = tf.topk(t, 9, true); return [r.values, r.indices]; });
  await add('topk_all', 'TopKV2', { sorted: A.b(true) },
    [input('float32', [6], randf([6])), input('int32', [], [6], true)], (t) => { const r = tf.topk(t, 6, true); return [r.values, r.indices]; });
  const pads = [[0, 0], [1, 2], [0, 3], [2, 0]];
  await add('pad', 'Pad', {}, [yin, input('int32', [4, 2], pads.flat(), true)], (t) => tf.pad(t, pads));
  await add('padv2', 'PadV2', {}, [yin, input('int32', [4, 2], pads.flat(), true), input('float32', [], [-2.5], true)],
    (t) => tf.pad(t, pads, -2.5));
  await add('pad_int', 'Pad', {}, [input('int32', [3, 2], randi([3, 2], -5, 5)), input('int32', [2, 2], [1, 0, 2, 1], true)],
    (t) => tf.pad(t, [[1, 0], [2, 1]]));
  for (const perm of [[0, 3, 1, 2], [0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 2, 3], [2, 0, 3, 1]]) {
    await add(`transpose_${perm.join('')}`, 'Transpose', {}, [yin, input('int32', [4], perm, true)], (t) => tf.transpose(t, perm));
  }
  await add('transpose_big', 'Transpose', {}, [input('float32', [1, 37, 41, 29], randf([1, 37, 41, 29])), input('int32', [4], [0, 3, 1, 2], true)],
    (t) => tf.transpose(t, [0, 3, 1, 2]));
  for (const [sizes, axis] of [[[2, 3], 1], [[1, -1, 1], 3], [[1, 3], -2], [[1, 1], 0]]) {
    await add(`splitv_${sizes.join('_')}_${axis}`, 'SplitV', { num_split: A.i(sizes.length) },
      [yin, input('int32', [sizes.length], sizes, true), input('int32', [], [axis], true)], (t) => tf.split(t, sizes, axis));
  }
  await add('sparse_to_dense', 'SparseToDense', { validate_indices: A.b(true) },
    [input('int32', [3, 2], [0, 1, 2, 3, 4, 0], true), input('int32', [2], [5, 4], true),
      input('float32', [3], [1.5, -2, 3], true), input('float32', [], [0.25], true)],
    (i, s, v, d) => tf.sparseToDense(i, v, [5, 4], d));
  await add('sparse_to_dense_empty', 'SparseToDense', { validate_indices: A.b(true) },
    [input('int32', [0, 1], [], true), input('int32', [1], [3], true),
      input('int32', [0], [], true), input('int32', [], [7], true)],
    (i, s, v, d) => tf.fill([3], 7, 'int32'));
}

async function main() {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node ops.mjs OUT.json');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  await convCases();
  await elementwiseCases();
  await shapeCases();
  fs.writeFileSync(out, JSON.stringify({ cases }));
  console.log(`ops: wrote ${cases.length} cases to ${out}`);
}

main().catch((e) => {
  console.error(`ops: ${e.stack || e}`);
  process.exit(1);
});
