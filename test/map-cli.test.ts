// `rsu map build|validate|render`: the demo intersection built and validated from its GeoJSON by the CLI, every kind
// of problem named with its feature and property, and the drawing a well-formed SVG with every lane.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { fromHex, loadMessageSet, type MessageSet } from '../codecs/index.js';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { defaultConfig } from '../runtime/config/index.js';
import { demoLaneMapPath, loadLaneMap } from '../runtime/map/index.js';
import { controllerSignalGroups, loadMapLimits, validateLaneMap, type MapLimits } from '../runtime/map/validate.js';

const FX = new URL('./fixtures/map/', import.meta.url).pathname;
const DEMO = demoLaneMapPath();
const tmp = mkdtempSync(join(tmpdir(), 'rsu-map-cli-'));

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out, err };
}

const J2735 = process.env.RSU_J2735_ASN1_DIR;
const NO_J2735 = 'RSU_J2735_ASN1_DIR is not set: SAE J2735 modules cannot ship with the project';

for (const std of ['csae2019', 'csae2020'] as const) {
  t.test(`the demo intersection builds as ${std} MapData from its GeoJSON`, async (t) => {
    const lm = loadLaneMap(DEMO);
    const r = await run(['map', 'build', DEMO, '--std', std]);
    t.equal(r.code, 0, r.err.join('\n'));
    const ms = (await loadMessageSet(std)) as unknown as MessageSet;
    const frame = ms.decode('MessageFrame', fromHex(r.out[0]!)) as any;
    const node = frame.mapFrame.nodes[0];
    t.equal(node.id.id, 110);
    const ids = node.inLinks.flatMap((l: any) => l.lanes.map((x: any) => x.laneID));
    const expected = lm.lanes.filter((l) => l.direction === 'ingress' || l.kind === 'crosswalk').map((l) => l.laneId);
    t.same([...ids].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), 'every ingress lane and crosswalk');
    t.match(r.err.at(-1), new RegExp(`${std} MapData, 18 lanes, \\d+ bytes UPER`));

    const out = join(tmp, `demo-${std}.uper`);
    const w = await run(['map', 'build', DEMO, '--std', std, '--out', out]);
    t.equal(w.code, 0);
    t.equal(Buffer.from(readFileSync(out)).toString('hex').toUpperCase(), r.out[0]!.toUpperCase(), '--out writes the same bytes');

    const j = await run(['map', 'build', DEMO, '--std', std, '--json']);
    const jer = JSON.parse(j.out.join('\n'));
    t.same(jer.mapFrame.nodes[0].inLinks.length, 4);
  });
}

t.test('the demo intersection builds as J2735 MapData', { skip: J2735 ? false : NO_J2735 }, async (t) => {
  for (const std of ['j2735-2020', 'j2735-2016'] as const) {
    const r = await run(['map', 'build', DEMO, '--std', std]);
    t.equal(r.code, 0, r.err.join('\n'));
    const ms = (await loadMessageSet(std)) as unknown as MessageSet;
    const frame = ms.decode('MessageFrame', fromHex(r.out[0]!)) as any;
    t.equal(frame.messageId, 18);
    t.equal(frame.value.intersections[0].laneSet.length, 18);
    const v = await run(['map', 'validate', DEMO, '--std', std]);
    t.equal(v.code, 0, v.err.join('\n'));
  }
});

t.test('the demo intersection validates clean against the default SPAT phases', async (t) => {
  for (const std of ['csae2019', 'csae2020']) {
    const r = await run(['map', 'validate', DEMO, '--std', std]);
    t.equal(r.code, 0, r.err.join('\n'));
    t.same(r.err, [], 'no errors or warnings');
    t.match(r.out[0], /valid for csae20(19|20) \(18 lanes, 0 errors, 0 warnings\)/);
    const j = await run(['map', 'validate', DEMO, '--std', std, '--json']);
    t.match(JSON.parse(j.out.join('\n')), { ok: true, errors: [], warnings: [] });
  }
  t.same(defaultConfig().applications.spat.phases.map((p) => p.id), [1, 2]);
});

/** Runs validate --json on a fixture; the problems as "features[i].property: code". */
async function problems(file: string, std = 'csae2020'): Promise<{ code: number; errors: any[]; warnings: any[] }> {
  const r = await run(['map', 'validate', FX + file, '--std', std, '--json']);
  const j = JSON.parse(r.out.join('\n'));
  return { code: r.code, errors: j.errors, warnings: j.warnings };
}

t.test('the fixtures of each kind of problem give the named errors', async (t) => {
  const ok = await problems('valid-straight.geojson');
  t.same([ok.code, ok.errors, ok.warnings], [0, [], []], 'the base of the fixtures is valid');

  const conn = await problems('bad-connectivity.geojson');
  t.equal(conn.code, 1);
  t.match(conn.errors, [
    { feature: 2, property: 'properties.connectsTo', code: 'no-connections', message: /ingress vehicle lane 2 connects to no lane/ },
    { feature: 4, property: 'properties.laneId', code: 'unreachable-egress', message: /egress vehicle lane 6 is unreachable/ },
  ]);
  t.equal(conn.errors.length, 2);

  const missing = await problems('missing-lane.geojson');
  t.equal(missing.code, 1);
  t.match(missing.errors, [{ feature: 2, property: 'properties.connectsTo[0].lane', code: 'lane-map', message: 'lane 42 does not exist in the map' }]);

  const sg = await problems('signal-groups.geojson');
  t.match(sg.errors, [
    { feature: 1, property: 'properties.connectsTo[0].signalGroup', code: 'signal-group-missing', message: /signal group 3, which the SPAT plan has no phase for \(phases: 1, 2\)/ },
    { property: 'applications.spat.phases[1]', code: 'phase-unused', message: /SPAT phase 2 controls no movement or crosswalk of the MAP/ },
  ]);
  t.equal(sg.errors.length, 2);

  const geo = await problems('impossible-geometry.geojson');
  t.match(geo.errors, [
    { feature: 4, property: 'geometry.coordinates[1]', code: 'geometry', message: /lane 6's centreline doubles back/ },
    { feature: 2, property: 'geometry.coordinates', code: 'geometry', message: /lane 2 crosses lane 1 \(features\[1\]\)/ },
    { feature: 1, property: 'properties.connectsTo[1].maneuver', code: 'maneuver-geometry', message: /lane 1 → 7 is declared "right" but turns 90° left/ },
  ]);
  t.equal(geo.errors.length, 3);

  const el = await problems('elevation-range.geojson');
  t.match(el.errors, [{ feature: 0, property: 'geometry.coordinates[2]', code: 'range', message: /reference elevation 9000 m is outside MapData\.nodes\[\]\.refPos\.elevation \(-409\.6 to 6143\.9 m/ }]);

  // List sizes come from the chosen message set's IR: ConnectsToList is SIZE(1..8) in csae2020, SIZE(1..16) in 2019.
  const ls20 = await problems('list-sizes.geojson', 'csae2020');
  t.match(ls20.errors, [
    { feature: 1, property: 'properties.connectsTo', code: 'list-size', message: /lane 1 has 9 connections, but MapData\.nodes\[\]\.inLinks\[\]\.lanes\[\]\.connectsTo is SIZE\(1\.\.8\)/ },
    { feature: 2, property: 'geometry.coordinates', code: 'list-size', message: /lane 2 has 40 points, but .*points is SIZE\(2\.\.31\): the MAP keeps 31 of them, up to 3\.00 m/ },
  ]);
  t.equal(ls20.errors.length, 2);
  const ls19 = await problems('list-sizes.geojson', 'csae2019');
  t.same(ls19.errors.map((e) => e.feature), [2], 'csae2019 carries 9 connections');

  // Loader errors (GeoJSON with missing lanes, impossible geometry) come out the same way.
  const several = await problems('several-errors.geojson');
  t.same(
    several.errors.map((e) => `${e.feature}:${e.property}`),
    ['1:properties.laneId', '2:geometry.coordinates', '3:geometry.coordinates', '5:properties.laneId', '6:properties.connectsTo[1].lane'],
  );
  const notJson = await problems('not-json.geojson');
  t.match(notJson.errors, [{ code: 'lane-map', message: /not valid JSON/ }]);

  // The text form names feature and property, and the exit status is 1.
  const txt = await run(['map', 'validate', FX + 'signal-groups.geojson']);
  t.equal(txt.code, 1);
  t.match(txt.err[0], /^error: features\[1\]\.properties\.connectsTo\[0\]\.signalGroup: lane 1 → 5 uses signal group 3/);
  t.match(txt.err[1], /^error: config applications\.spat\.phases\[1\]: SPAT phase 2/);
  t.match(txt.out[0], /INVALID for csae2020 \(5 lanes, 2 errors, 0 warnings\)/);
});

/** A config file whose SPAT takes its states from `controller` (YAML flow text), beside the plan `phases`. */
function spatConfig(name: string, controller: string, phases = '[{ id: 1, green: 25, yellow: 3, red: 32, offset: 0 }, { id: 2, green: 25, yellow: 3, red: 32, offset: 30 }]'): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `rsu: { id: RSU-MAP }\napplications:\n  spat:\n    phases: ${phases}\n    controller: ${controller}\n`);
  return file;
}

async function validateWith(config: string, file = DEMO): Promise<{ code: number; errors: any[]; warnings: any[]; err: string[] }> {
  const r = await run(['map', 'validate', file, '--config', config, '--json']);
  const j = JSON.parse(r.out.join('\n'));
  const txt = await run(['map', 'validate', file, '--config', config]);
  return { code: r.code, errors: j.errors, warnings: j.warnings, err: txt.err };
}

t.test('signal groups are checked against what the configured controller reports, both ways', async (t) => {
  // Three plan phases, but a TSCBM controller mapping exactly the demo's groups 1 and 2: the plan is not what
  // the SPAT carries, so its unused phase 3 is no problem, and the map is valid.
  const threePhases = '[{ id: 1, green: 15, yellow: 3, red: 42, offset: 0 }, { id: 2, green: 15, yellow: 3, red: 42, offset: 20 }, { id: 3, green: 15, yellow: 3, red: 42, offset: 40 }]';
  const tscbmOk = await validateWith(spatConfig('tscbm-ok', '{ kind: tscbm, listen: "127.0.0.1:6053", mapping: [{ signalGroup: 1, phase: 2 }, { signalGroup: 2, phase: 6 }] }', threePhases));
  t.same([tscbmOk.code, tscbmOk.errors, tscbmOk.warnings], [0, [], []], 'the mapping covers the MAP: valid, whatever the plan says');
  // The same plan as the source (kind plan): phase 3 is unused.
  const plan3 = await validateWith(spatConfig('plan-3', '{ kind: plan }', threePhases));
  t.equal(plan3.code, 1);
  t.match(plan3.errors, [{ property: 'applications.spat.phases[2]', code: 'phase-unused', message: /^SPAT phase 3 controls no movement or crosswalk of the MAP/ }]);
  t.equal(plan3.errors.length, 1);

  // TSCBM mapping group 1 and a pedestrian output to group 11: the MAP's group 2 is never reported (North/South
  // crosswalks, East/West approaches), and group 11 drives nothing in the MAP.
  const tscbm = await validateWith(spatConfig('tscbm-bad', '{ kind: tscbm, listen: "127.0.0.1:6053", mapping: [{ signalGroup: 1, phase: 2 }, { signalGroup: 11, phase: 2, type: pedestrian }] }'));
  t.equal(tscbm.code, 1);
  const missing = tscbm.errors.filter((e) => e.code === 'signal-group-missing');
  const demo = loadLaneMap(DEMO);
  const uses2 = demo.lanes.reduce((n, l) => n + (l.signalGroup === 2 ? 1 : 0) + l.connectsTo.filter((c) => c.signalGroup === 2).length, 0);
  t.equal(missing.length, uses2, `every use of group 2 in the MAP (${uses2}) is named`);
  t.ok(
    missing.every((e) => /uses signal group 2, which the tscbm controller never reports: no entry of applications\.spat\.controller\.mapping maps a controller output to it \(mapped signal groups: 1, 11\)$/.test(e.message)),
    missing[0]?.message,
  );
  t.ok(missing.some((e) => e.property === 'properties.signalGroup') && missing.some((e) => /^properties\.connectsTo\[\d\]\.signalGroup$/.test(e.property)), 'crosswalks and connections both');
  t.match(tscbm.errors.filter((e) => e.code === 'phase-unused'), [
    { property: 'applications.spat.controller.mapping[1]', message: /^signal group 11 \(tscbm controller pedestrian phase 2\) controls no movement or crosswalk of the MAP/ },
  ]);
  t.equal(tscbm.errors.length, uses2 + 1);
  t.ok(tscbm.err.some((l) => /^error: config applications\.spat\.controller\.mapping\[1\]: signal group 11 \(tscbm controller pedestrian phase 2\)/.test(l)), 'the text form names the config entry');

  // NTCIP: the same, from its mapping (an overlap output here).
  const ntcip = await validateWith(spatConfig('ntcip', '{ kind: ntcip, target: "127.0.0.1:161", version: 2, mapping: [{ signalGroup: 1, phase: 2 }, { signalGroup: 2, phase: 4 }, { signalGroup: 9, phase: 1, type: overlap }] }'));
  t.equal(ntcip.code, 1);
  t.match(ntcip.errors, [{ property: 'applications.spat.controller.mapping[2]', code: 'phase-unused', message: /^signal group 9 \(ntcip controller overlap 1\) controls no movement/ }]);
  t.equal(ntcip.errors.length, 1);

  // Simulated, actuated with stages of their own: the stages' groups are the source.
  const act = await validateWith(
    spatConfig('actuated', '{ kind: simulated, mode: actuated, stages: [{ phases: [1], minGreen: 5, maxGreen: 20, passage: 2, yellow: 3, red: 2 }, { phases: [4], minGreen: 5, maxGreen: 20, passage: 2, yellow: 3, red: 2 }] }'),
  );
  t.equal(act.code, 1);
  t.match(act.errors.filter((e) => e.code === 'phase-unused'), [
    { property: 'applications.spat.controller.stages[1].phases[0]', message: /^signal group 4 \(stage 2 of the simulated actuated controller\) controls no movement/ },
  ]);
  t.ok(act.errors.filter((e) => e.code === 'signal-group-missing').every((e) => /uses signal group 2, which no stage of the simulated actuated controller .* has \(signal groups of the stages: 1, 4\)$/.test(e.message)));
  // Actuated without stages runs the plan: the plan's phases, named as such.
  const actPlan = await validateWith(spatConfig('actuated-plan', '{ kind: simulated, mode: actuated }', threePhases));
  t.match(actPlan.errors, [{ property: 'applications.spat.phases[2]', code: 'phase-unused', message: /^SPAT phase 3 / }]);
  t.equal(actPlan.errors.length, 1);
  const sim = await validateWith(spatConfig('simulated', '{ kind: simulated, mode: fixed }', '[{ id: 1, green: 25, yellow: 3, red: 32, offset: 0 }]'));
  t.match(sim.errors.filter((e) => e.code === 'signal-group-missing')[0], { message: /which the plan the simulated controller runs \(applications\.spat\.phases\) has no phase for \(phases: 1\)$/ });
});

t.test('any controller kind with a mapping is read the same way; one without is said to be unchecked', async (t) => {
  const phases = [{ id: 1, green: 25, yellow: 3, red: 32, offset: 0 }];
  // A kind this module does not know (as a new adapter adds them), with a mapping of lamp groups.
  const g = controllerSignalGroups({ phases, controller: { kind: 'gbt20999', mapping: [{ signalGroup: 5, phase: 3 }, { signalGroup: 6, phase: 4, type: 'pedestrian' }] } } as any);
  t.match(g, {
    kind: 'gbt20999',
    groups: [
      { id: 5, path: 'applications.spat.controller.mapping[0]', what: 'signal group 5 (gbt20999 controller vehicle phase 3)' },
      { id: 6, path: 'applications.spat.controller.mapping[1]', what: 'signal group 6 (gbt20999 controller pedestrian phase 4)' },
    ],
  });
  t.equal(g!.groups.length, 2, 'the plan is not mixed in');
  const map = loadLaneMap(DEMO);
  const p = validateLaneMap(map, { limits: loadMapLimits('csae2020'), signalGroups: g! });
  t.ok(p.some((x) => x.code === 'signal-group-missing' && /signal group 1, which the gbt20999 controller never reports/.test(x.message)));
  t.ok(p.some((x) => x.code === 'phase-unused' && x.property === 'applications.spat.controller.mapping[0]'));
  t.equal(controllerSignalGroups({ phases, controller: { kind: 'mystery' } } as any), undefined, 'a kind without a mapping: groups unknown');
  t.same(controllerSignalGroups({ phases, controller: { kind: 'plan' } })!.groups.map((x) => x.id), [1]);
});

t.test('build refuses a map with errors, naming them', async (t) => {
  const r = await run(['map', 'build', FX + 'list-sizes.geojson', '--std', 'csae2020']);
  t.equal(r.code, 1);
  t.same(r.out, []);
  t.match(r.err.join('\n'), /features\[1\]\.properties\.connectsTo: lane 1 has 9 connections[\s\S]*not built: 2 errors/);
  const g = await run(['map', 'build', FX + 'impossible-geometry.geojson']);
  t.equal(g.code, 1);
});

t.test('J2735 node offsets beyond their range are errors', async (t) => {
  const map = loadLaneMap(FX + 'j2735-offsets.geojson');
  // Limits shaped as J2735's (the numbers of NodeOffsetPointXY and the lists); the real ones come from the
  // deployer's modules, below, when they are available.
  const r = (lb: number, ub: number, where: string) => ({ lb, ub, where });
  const limits: MapLimits = {
    std: 'j2735-2020',
    family: 'j2735',
    sizes: { lanes: { lb: 1, ub: 255, where: 'MapData.intersections[].laneSet' }, nodes: { lb: 2, ub: 63, where: 'nodes' }, connections: { lb: 1, ub: 16, where: 'connectsTo' } },
    ranges: { elevation: r(-4096, 61439, 'elevation'), laneId: r(0, 255, 'laneID'), signalGroup: r(0, 255, 'signalGroup') },
    xyForms: [
      { name: 'node-XY1', x: r(-512, 511, 'x'), y: r(-512, 511, 'y') },
      { name: 'node-XY6', x: r(-32768, 32767, 'x'), y: r(-32768, 32767, 'y') },
    ],
  };
  const p = validateLaneMap(map, { limits });
  t.match(p, [{ severity: 'error', code: 'range', feature: 1, property: 'geometry.coordinates[0]', message: /lane 1: node offset from point 1 is -485\.00 m east, 0\.00 m north, beyond the largest J2735 node offset \(node-XY6: -327\.68 to 327\.67 m\)/ }]);
  t.equal(p.length, 1);
  const csae = validateLaneMap(map, { limits: loadMapLimits('csae2020') });
  t.same(csae, [], 'CSAE MapData carries absolute positions: no offset limit');
  if (J2735) {
    const v = await problems('j2735-offsets.geojson', 'j2735-2020');
    t.match(v.errors, [{ feature: 1, code: 'range', message: /beyond the largest J2735 node offset/ }]);
  }
});

// ---- SVG: a minimal XML well-formedness parser (tags balanced, attributes quoted and unique, entities known).
interface El {
  name: string;
  attrs: Record<string, string>;
  children: (El | string)[];
}
function parseXml(s: string): El {
  let i = 0;
  const fail = (m: string): never => {
    throw new Error(`${m} at offset ${i}: ${JSON.stringify(s.slice(i, i + 40))}`);
  };
  const text = (raw: string) => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(raw)) fail('bad entity');
    if (raw.includes('<')) fail('< in text');
    return raw.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  if (s.startsWith('<?xml')) i = s.indexOf('?>') + 2;
  const stack: El[] = [];
  let root: El | undefined;
  while (i < s.length) {
    if (s.startsWith('<!--', i)) {
      i = s.indexOf('-->', i) + 3;
      continue;
    }
    if (s[i] === '<') {
      if (s[i + 1] === '/') {
        const m = /^<\/([\w:-]+)\s*>/.exec(s.slice(i)) ?? fail('bad end tag');
        const top = stack.pop() ?? fail('end tag without start');
        if (top.name !== m[1]) fail(`</${m[1]}> closes <${top.name}>`);
        i += m[0].length;
        continue;
      }
      const m = /^<([\w:-]+)((?:\s+[\w:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(s.slice(i)) ?? fail('bad start tag');
      const attrs: Record<string, string> = {};
      for (const a of m[2]!.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) fail(`duplicate attribute ${a[1]}`);
        attrs[a[1]!] = text(a[2] ?? a[3] ?? '');
      }
      const el: El = { name: m[1]!, attrs, children: [] };
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail('second root element');
      else root = el;
      if (!m[3]) stack.push(el);
      i += m[0].length;
      continue;
    }
    const j = s.indexOf('<', i) < 0 ? s.length : s.indexOf('<', i);
    const raw = s.slice(i, j);
    if (stack.length) stack[stack.length - 1]!.children.push(text(raw));
    else if (raw.trim()) fail('text outside the root');
    i = j;
  }
  if (stack.length) fail(`unclosed <${stack[stack.length - 1]!.name}>`);
  return root ?? fail('no root element');
}
const all = (e: El): El[] => [e, ...e.children.flatMap((c) => (typeof c === 'string' ? [] : all(c)))];
const textOf = (e: El): string => e.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');

t.test('render draws well-formed SVG with every lane', async (t) => {
  const lm = loadLaneMap(DEMO);
  const r = await run(['map', 'render', DEMO]);
  t.equal(r.code, 0, r.err.join('\n'));
  const svgText = r.out.join('\n');
  const svg = parseXml(svgText);
  t.equal(svg.name, 'svg');
  t.equal(svg.attrs['xmlns'], 'http://www.w3.org/2000/svg');
  const els = all(svg);
  const ids = new Set(els.filter((e) => e.name === 'text' && e.attrs['class'] === 'lane-id').map(textOf));
  for (const l of lm.lanes) {
    t.ok(ids.has(String(l.laneId)), `lane ${l.laneId} is labelled`);
    const g = els.find((e) => e.attrs['id'] === `lane-${l.laneId}`);
    t.ok(g?.children.some((c) => typeof c !== 'string' && c.name === 'polygon'), `lane ${l.laneId} is a polygon`);
  }
  const conns = els.filter((e) => e.attrs['data-from'] !== undefined);
  t.equal(conns.length, lm.lanes.reduce((n, l) => n + l.connectsTo.length, 0), 'a curve per connection');
  t.ok(els.some((e) => e.attrs['id'] === 'north-arrow'));
  t.ok(els.some((e) => e.attrs['id'] === 'scale-bar'));
  t.same([...new Set(els.filter((e) => e.attrs['class'] === 'signal-group').map(textOf))].sort(), ['SG 1', 'SG 2']);
  t.equal(els.filter((e) => e.attrs['data-maneuvers'] !== undefined).length, lm.lanes.filter((l) => l.direction === 'ingress').length, 'maneuver arrows on each ingress lane');

  // A second opinion on well-formedness, when Python is there.
  const py = spawnSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read()); print("ok")'], { input: svgText, encoding: 'utf8' });
  if (py.error) t.comment('python3 absent: one parser only');
  else t.equal(py.stdout.trim(), 'ok', py.stderr);

  const out = join(tmp, 'demo.svg');
  const w = await run(['map', 'render', DEMO, '--out', out, '--extent', '40', '--width', '800']);
  t.equal(w.code, 0);
  const small = parseXml(readFileSync(out, 'utf8'));
  t.equal(small.attrs['width'], '800');
  t.match(w.err[0], /18 lanes drawn/);

  // Names with XML specials are escaped.
  const tj = await run(['map', 'render', FX + 't-junction.geojson']);
  t.doesNotThrow(() => parseXml(tj.out.join('\n')));

  const png = await run(['map', 'render', DEMO, '--out', join(tmp, 'demo.png')]);
  const hasConverter = ['rsvg-convert', 'inkscape'].some((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  if (hasConverter) t.equal(png.code, 0);
  else {
    t.equal(png.code, 1);
    t.match(png.err[0], /PNG output needs rsvg-convert .* or inkscape on PATH/);
  }
});

t.test('usage errors', async (t) => {
  t.equal((await run(['map'])).code, 2);
  t.equal((await run(['map', 'draw', DEMO])).code, 2);
  t.equal((await run(['map', 'build', DEMO, '--std', 'csae1999'])).code, 2);
  t.equal((await run(['map', 'build', DEMO, '--hex', '--json'])).code, 2);
  t.equal((await run(['map', 'render', DEMO, '--width', '10'])).code, 2);
  t.match((await run(['map', '--help'])).out[0], /usage: rsu map <build\|validate\|render>/);
  const missing = await run(['map', 'render', join(tmp, 'nope.geojson')]);
  t.equal(missing.code, 1);
  t.match(missing.err[0], /cannot read the lane map/);
});
