// Runs the detection models in TensorFlow.js (CPU backend) on prepared
// input tensors and writes every output tensor, as the reference that the
// C runtime's tests compare against.
//
// usage: node reference.mjs MODELS_DIR CASES_DIR
//   CASES_DIR/cases.json lists {name, model, input} entries; input is a
//   raw little-endian float32 file in the model's input shape.  For each
//   case the script writes CASES_DIR/<name>.out<k>.f32 per model output
//   and CASES_DIR/<name>.ref.json with the output names and shapes.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

// Load a graph model from model.json and its shards on disk.
export async function loadModel(jsonPath) {
  const dir = path.dirname(jsonPath);
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const handler = {
    load: async () => {
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
  return tf.loadGraphModel(handler);
}

export function outputNames(model) {
  return model.outputs.map((o) => o.name);
}

async function main() {
  const [modelsDir, casesDir] = process.argv.slice(2);
  if (!modelsDir || !casesDir) {
    console.error('usage: node reference.mjs MODELS_DIR CASES_DIR');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  const cases = JSON.parse(fs.readFileSync(path.join(casesDir, 'cases.json'), 'utf8'));
  const models = {};
  for (const c of cases) {
    if (!models[c.model]) {
      models[c.model] = await loadModel(path.join(modelsDir, c.model, `${c.model}.json`));
    }
    const model = models[c.model];
    const inputInfo = model.inputs[0];
    const raw = fs.readFileSync(path.join(casesDir, c.input));
    const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const input = tf.tensor(data, inputInfo.shape, 'float32');
    const names = outputNames(model);
    const outs = model.execute({ [inputInfo.name]: input }, names);
    const list = Array.isArray(outs) ? outs : [outs];
    const meta = { name: c.name, model: c.model, outputs: [] };
    for (let k = 0; k < list.length; k++) {
      const t = list[k];
      const values = await t.data();
      const f32 = Float32Array.from(values);
      const file = `${c.name}.out${k}.f32`;
      fs.writeFileSync(path.join(casesDir, file), Buffer.from(f32.buffer));
      meta.outputs.push({ name: names[k], shape: t.shape, dtype: t.dtype, file });
      t.dispose();
    }
    input.dispose();
    fs.writeFileSync(path.join(casesDir, `${c.name}.ref.json`), JSON.stringify(meta, null, 1));
    console.log(`reference: ${c.name} (${c.model}) ${list.length} outputs`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`reference: ${e.stack || e}`);
    process.exit(1);
  });
}
