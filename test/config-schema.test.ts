// Issue 16 point 4: the JSON Schema of the config (docs/config.schema.json) for editors, generated from the
// definition the daemon validates with. Checked here: the committed file is what `npm run schema` writes; it is a
// valid draft-07 schema to an independent validator (Ajv), which accepts the shipped example and the test configs
// and rejects what `config check` rejects for its shape.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';
import { validateConfig } from '../runtime/config/index.js';
import { SCHEMA_FILE, schemaText } from '../scripts/config-schema.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

t.test('docs/config.schema.json is what npm run schema writes', async (t) => {
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText(), 'out of date: run npm run schema');
});

t.test('a valid draft-07 schema, with a description for the keys', async (t) => {
  t.equal(ajv.validateSchema(committed), true, ajv.errorsText(ajv.errors));
  const text = JSON.stringify(committed);
  t.ok((text.match(/"description":/g) ?? []).length > 100, 'keys carry their reference text');
  t.match(committed, { properties: { uplink: { properties: { mqtt: { properties: { url: { default: 'mqtt://127.0.0.1:1883', description: String } } } } } } });
});

const validate = ajv.compile(committed);
const yamlFile = (f: string) => parse(readFileSync(join(ROOT, f), 'utf8')) as unknown;

t.test('the shipped example and the test configs are valid, to Ajv and to config check', async (t) => {
  for (const f of ['deploy/rsu.example.yaml', 'test/fixtures/config/minimal.yaml', 'test/fixtures/config/explicit-sensors.yaml']) {
    t.equal(validate(yamlFile(f)), true, `${f}: ${ajv.errorsText(validate.errors)}`);
    t.equal(validateConfig(yamlFile(f), { baseDir: dirname(join(ROOT, f)) }).errors.length, 0, f);
  }
  t.equal(validate({}), true, 'an empty file is the demo');
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.ok(blocks.length >= 1, 'the README\'s config snippets');
  for (const b of blocks) t.equal(validate(parse(b)), true, `README snippet ${b.split('\n')[0]}: ${ajv.errorsText(validate.errors)}`);
});

t.test('the example config names the schema for the YAML language server', async (t) => {
  const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(join(ROOT, 'deploy/rsu.example.yaml'), 'utf8'));
  t.ok(m, 'modeline present');
  t.equal(resolve(ROOT, 'deploy', m![1]!), SCHEMA_FILE);
});

t.test('Ajv rejects what config check rejects for its shape, at the same keys', async (t) => {
  t.equal(validate(yamlFile('test/fixtures/config/bad-values.yaml')), false);
  const at = (validate.errors ?? []).map((e) => (e.keyword === 'additionalProperties' ? `${e.instancePath}/${e.params['additionalProperty']}` : e.instancePath));
  for (const p of ['/messageSet', '/sensors/0/pose/yaw', '/radio/udpRaw/tagret', '/time/maxClockOffsetMs']) t.ok(at.includes(p), `${p} in ${at.join(' ')}`);
  const cases: unknown[] = [
    { messageSet: 'csae2021' },
    { message_set: 'csae2019' },
    { rsu: { reference: { lat: 91, lon: 0 } } },
    { metrics: { port: 80.5 } },
    { rsu: { id: 'RSU/001' } },
    { radio: { udpRaw: { target: 'localhost' } } },
    { uplink: { kafka: { enabled: 'yes' } } },
    { uplink: { spool: { maxBytes: '12 parsecs' } } },
    { uplink: { mqtt: { url: 'http://broker:1883' } } },
    { sensors: [{ kind: 'lidar', pose: {} }] },
    { applications: { spat: { controller: { kind: 'TSCBM' } } } },
    { applications: { spat: { controller: { kind: 'plan', listen: '0.0.0.0:6053' } } } },
    { applications: { spat: { controller: { kind: 'ntcip', version: 2, mapping: [{ signalGroup: 1, phase: 1 }] } } } },
    { radio: { immediateForward: { messages: { SPaT: { psid: 1 } } } } },
  ];
  for (const c of cases) {
    t.equal(validateConfig(c).ok, false, `config check rejects ${JSON.stringify(c)}`);
    t.equal(validate(c), false, `Ajv rejects ${JSON.stringify(c)}`);
  }
});
