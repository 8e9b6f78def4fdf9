// `npm run train:fusion [-- options]`: trains the fusion model (models/fusion.md).
//
//   npm run train:fusion                                   # the shipped model: simulator seeds 1000-1008, 60 s each
//   npm run train:fusion -- --kitti DIR --out site.onnx    # a deployer's labelled recordings in KITTI tracking format
//
// With --kitti, gen-kitti.ts makes the pairs from DIR (layout: docs/eval/KITTI.md; the camera's settings with
// --camera JSON) and train.py trains on them, validating on the last sequence; point perception.model at the
// result. A model trained on data under a licence (KITTI: CC BY-NC-SA 3.0) carries it: --out is required and
// never defaults into the repository.

import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    kitti: { type: 'string' },
    seqs: { type: 'string' },
    camera: { type: 'string' },
    tracker: { type: 'string' },
    seeds: { type: 'string', default: '1000-1008' },
    duration: { type: 'string', default: '60' },
    work: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string' },
  },
});

const run = (cmd: string, args: string[]): void => {
  process.stdout.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`train:fusion: ${cmd} failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
};
const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');

if (values.kitti) {
  if (!values.out) {
    process.stderr.write('train:fusion --kitti DIR needs --out FILE.onnx (the model carries the recordings\' licence: keep it out of the repository unless they are yours)\n');
    process.exit(2);
  }
  const work = resolve(values.work ?? '/tmp/rsu-fusion-kitti');
  const gen = ['--data', resolve(values.kitti), '--out', work];
  if (values.seqs) gen.push('--seqs', values.seqs);
  if (values.camera) gen.push('--camera', values.camera);
  if (values.tracker) gen.push('--tracker', values.tracker);
  run(tsx, [join(here, 'gen-kitti.ts'), ...gen]);
  run('/usr/bin/python3', [join(here, 'train.py'), '--data', work, '--out', resolve(values.out), '--epochs', values.epochs ?? '40']);
} else {
  const work = resolve(values.work ?? '/tmp/rsu-fusion-data');
  run(tsx, [join(here, 'gen-data.ts'), '--seeds', values.seeds!, '--duration', values.duration!, '--out', work]);
  run('/usr/bin/python3', [join(here, 'train.py'), '--data', work, '--out', resolve(values.out ?? join(here, '..', '..', 'models', 'fusion.onnx')), '--epochs', values.epochs ?? '6']);
}
