import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configCheck, ConfigError, formatIssue, loadConfig, validateConfig } from '../runtime/config/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/config/${name}`, import.meta.url));

/** The error messages of validating `input`, as `path: message`. */
function errorsOf(input: unknown): string[] {
  const r = validateConfig(input);
  return r.errors.map(formatIssue);
}

const spatController = (controller: unknown) => ({ applications: { spat: { controller } } });

const lidar = (extra: Record<string, unknown> = {}) => ({ id: 'l1', kind: 'lidar', pose: {}, ...extra });

t.test('each kind of error names its key and the problem', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['wrong type, with unit', { sensors: [lidar(), lidar({ id: 'l2' }), lidar({ id: 'l3', pose: { yaw: 'abc' } })] }, /^sensors\[2\]\.pose\.yaw: expected a number in degrees, got "abc"$/],
    ['out of range', { rsu: { reference: { lat: 91, lon: 0 } } }, /^rsu\.reference\.lat: expected a number in degrees between -90 and 90, got 91$/],
    ['not an integer', { metrics: { port: 80.5 } }, /^metrics\.port: expected an integer between 0 and 65535, got 80\.5$/],
    ['enum with suggestion', { messageSet: 'csae2021' }, /^messageSet: expected one of csae2020, csae2019, j2735-2020, j2735-2016, got "csae2021" \(did you mean "csae2020"\?\)$/],
    ['unknown key with suggestion', { radio: { udpRaw: { tagret: '127.0.0.1:1' } } }, /^radio\.udpRaw\.tagret: unknown key "tagret" \(did you mean "target"\?\)$/],
    ['snake_case key', { message_set: 'csae2019' }, /^message_set: unknown key "message_set" \(did you mean "messageSet"\?\)$/],
    ['unknown key, nothing close', { zzz: 1 }, /^zzz: unknown key "zzz"$/],
    ['missing required key', { sensors: [{ kind: 'lidar', pose: {} }] }, /^sensors\[0\]\.id: missing required key "id"/],
    ['HOST:PORT', { radio: { udpRaw: { target: 'localhost' } } }, /^radio\.udpRaw\.target: expected HOST:PORT/],
    ['port range in HOST:PORT', { radio: { udpRaw: { target: '127.0.0.1:70000' } } }, /^radio\.udpRaw\.target: port must be between 1 and 65535, got 70000$/],
    ['boolean', { uplink: { kafka: { enabled: 'yes' } } }, /^uplink\.kafka\.enabled: expected true or false, got "yes"$/],
    ['list expected', { ingest: { listeners: { protocol: 'udp' } } }, /^ingest\.listeners: expected a list, got a mapping$/],
    ['mapping expected', { time: 'gpsd' }, /^time: expected a mapping/],
    ['fusion mode', { perception: { fusion: 'learned' } }, /^perception\.fusion: expected one of onnx, plain, got "learned"/],
    ['detected event kind', { applications: { rsi: { detectedEventCodes: { stopped: 5 } } } }, /^applications\.rsi\.detectedEventCodes\.stopped: unknown key/],
    ['detected event code of the other standard', { applications: { rsi: { detectedEventCodes: { 'wrong-way': 1793 } } } }, /^applications\.rsi\.detectedEventCodes\.wrong-way: unknown event code 1793 for csae2020: .*ITIS/],
    ['event code of the other standard', { applications: { rsi: { events: [{ id: 1, type: 1025, lat: 48.1, lon: 11.6 }] } } }, /^applications\.rsi\.events\[0\]\.type: unknown event code 1025 for csae2020: .*1025 is an ITIS code/],
    ['empty value of a required key', { rsu: { reference: { lat: null, lon: 1 } } }, /^rsu\.reference\.lat: expected a number in degrees, got null \(an empty value\)$/],
    ['RSU id', { rsu: { id: 'RSU/001' } }, /^rsu\.id: expected an RSU id of 1-8 letters, digits, \. _ - or 0x and 2-16 hex digits, got "RSU\/001"$/],
    ['byte size', { uplink: { spool: { maxBytes: '12 parsecs' } } }, /^uplink\.spool\.maxBytes: expected a size in bytes/],
    ['PSID', { radio: { immediateForward: { messages: { SPAT: { psid: '0x9FFFFF' } } } } }, /^radio\.immediateForward\.messages\.SPAT\.psid: PSID 0x9fffff is not p-encodable/],
    ['message type', { radio: { immediateForward: { messages: { SPaT: { psid: 1 } } } } }, /^radio\.immediateForward\.messages\.SPaT: unknown key "SPaT" \(did you mean "SPAT"\?\)/],
    ['URL scheme', { uplink: { mqtt: { url: 'http://broker:1883', embeddedBroker: false } } }, /^uplink\.mqtt\.url: URL scheme "http" is not one of mqtt, mqtts/],
    ['MQTT version', { uplink: { mqtt: { version: 4 } } }, /^uplink\.mqtt\.version: expected one of 5, 3\.1\.1, got 4$/],
    ['embedded broker elsewhere', { uplink: { mqtt: { url: 'mqtt://broker.example:1883', embeddedBroker: true } } }, /^uplink\.mqtt\.embeddedBroker: the embedded broker is the demo's .*to use the broker at mqtt:\/\/broker\.example:1883, set embeddedBroker: false$/],
    ['TLS file', { uplink: { mqtt: { url: 'mqtts://b:8883', embeddedBroker: false, tls: { ca: '/nonexistent/ca.pem' } } } }, /^uplink\.mqtt\.tls\.ca: cannot read file "\/nonexistent\/ca\.pem": no such file \(ENOENT\)$/],
    ['TLS pair', { uplink: { mqtt: { url: 'mqtts://b:8883', embeddedBroker: false, tls: { cert: '/etc/hostname' } } } }, /^uplink\.mqtt\.tls: cert and key go together: key is missing$/],
    ['duplicate sensor id', { sensors: [lidar(), lidar()] }, /^sensors\[1\]\.id: duplicate sensor id "l1" \(also sensors\[0\]\.id\)$/],
    ['camera without intrinsics', { sensors: [{ id: 'c', kind: 'camera', pose: {} }] }, /^sensors\[0\]\.intrinsics: missing: a camera needs intrinsics/],
    ['sensor without pose', { sensors: [{ id: 'r', kind: 'radar' }] }, /^sensors\[0\]\.pose: missing: give the sensor's pose/],
    ['intrinsics on a lidar', { sensors: [lidar({ intrinsics: { width: 1, height: 1, fx: 1, fy: 1, cx: 0, cy: 0 } })] }, /^sensors\[0\]\.intrinsics: only cameras have intrinsics/],
    ['listener port twice', { ingest: { listeners: [{ protocol: 'udp', listen: '0.0.0.0:5600' }, { protocol: 'udp', listen: '127.0.0.1:5600' }] } }, /^ingest\.listeners\[1\]\.listen: port 5600\/udp is also used by ingest\.listeners\[0\]$/],
    ['SPAT cycle', { applications: { spat: { phases: [{ id: 1, green: 30, yellow: 3, red: 27 }, { id: 2, green: 30, yellow: 3, red: 30 }] } } }, /^applications\.spat\.phases\[1\]: green \+ yellow \+ red = 63 s, but applications\.spat\.phases\[0\] has 60 s/],
    ['SPAT green', { applications: { spat: { phases: [{ id: 1, green: 0, yellow: 3, red: 27 }] } } }, /^applications\.spat\.phases\[0\]\.green: expected a number in seconds greater than 0, got 0$/],
    ['SPAT offset', { applications: { spat: { phases: [{ id: 1, green: 30, yellow: 3, red: 27, offset: 60 }] } } }, /^applications\.spat\.phases\[0\]\.offset: expected an offset within the 60 s cycle/],
    ['MAP file', { applications: { map: { enabled: true } } }, /^applications\.map\.file: missing: the MAP application needs a lane map file/],
    ['immediate forward without RSM PSID', { radio: { mode: 'immediate-forward' } }, /^radio\.immediateForward\.messages\.RSM: missing: radio\.mode is immediate-forward and applications\.rsm is enabled/],
    ['calibration file', { sensors: [{ id: 'x', kind: 'lidar', calibration: { file: '/nonexistent/calib.json' } }] }, /^sensors\[0\]\.calibration\.file: cannot read calibration file "\/nonexistent\/calib\.json": no such file/],
    ['top level', [1, 2], /^expected a mapping of sections/],
    ['signal controller kind', spatController({ kind: 'TSCBM' }), /^applications\.spat\.controller\.kind: expected one of plan, simulated, tscbm, ntcip, gbt20999, got "TSCBM" \(did you mean "tscbm"\?\)$/],
    ['signal controller without kind', spatController({ listen: '0.0.0.0:6053' }), /^applications\.spat\.controller\.kind: missing required key "kind" \(one of plan, simulated, tscbm, ntcip, gbt20999\)$/],
    ['signal controller not a mapping', spatController('tscbm'), /^applications\.spat\.controller: expected a mapping with kind: plan \| simulated \| tscbm \| ntcip \| gbt20999; got "tscbm"$/],
    ['a key of another controller kind', spatController({ kind: 'plan', listen: '0.0.0.0:6053' }), /^applications\.spat\.controller\.listen: unknown key "listen"$/],
    ['TSCBM without mapping', spatController({ kind: 'tscbm', listen: '0.0.0.0:6053' }), /^applications\.spat\.controller\.mapping: missing required key "mapping"/],
    ['TSCBM listen', spatController({ kind: 'tscbm', listen: '6053', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.listen: expected HOST:PORT/],
    ['TSCBM phase range', spatController({ kind: 'tscbm', listen: '0.0.0.0:6053', mapping: [{ signalGroup: 1, phase: 17 }] }), /^applications\.spat\.controller\.mapping\[0\]\.phase: expected an integer between 1 and 16, got 17$/],
    ['mapping output type', spatController({ kind: 'tscbm', listen: '0.0.0.0:6053', mapping: [{ signalGroup: 1, phase: 1, type: 'pedestrain' }] }), /^applications\.spat\.controller\.mapping\[0\]\.type: expected one of vehicle, pedestrian, overlap, got "pedestrain" \(did you mean "pedestrian"\?\)$/],
    ['signal group mapped twice', spatController({ kind: 'tscbm', listen: '0.0.0.0:6053', mapping: [{ signalGroup: 2, phase: 2 }, { signalGroup: 2, phase: 6 }] }), /^applications\.spat\.controller\.mapping\[1\]\.signalGroup: signal group 2 is already driven by applications\.spat\.controller\.mapping\[0\]/],
    ['TSCBM sender address', spatController({ kind: 'tscbm', listen: '0.0.0.0:6053', controllerAddress: 'asc-1.local', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.controllerAddress: expected an IP address/],
    ['TSCBM port shared with ingest', { ingest: { listeners: [{ protocol: 'udp', listen: '0.0.0.0:6053' }] }, ...spatController({ kind: 'tscbm', listen: '0.0.0.0:6053', mapping: [{ signalGroup: 1, phase: 1 }] }) }, /^applications\.spat\.controller\.listen: port 6053\/udp is also used by ingest\.listeners\[0\]\.listen$/],
    ['simulated mode', spatController({ kind: 'simulated', mode: 'actuatd' }), /^applications\.spat\.controller\.mode: expected one of fixed, actuated, got "actuatd" \(did you mean "actuated"\?\)$/],
    ['stages with fixed time', spatController({ kind: 'simulated', mode: 'fixed', stages: [{ phases: [1], minGreen: 5, maxGreen: 20, yellow: 3, red: 2 }] }), /^applications\.spat\.controller\.stages: only with mode: actuated/],
    ['stage greens', spatController({ kind: 'simulated', mode: 'actuated', stages: [{ phases: [1], minGreen: 25, maxGreen: 20, yellow: 3, red: 2 }] }), /^applications\.spat\.controller\.stages\[0\]\.maxGreen: expected at least minGreen \(25 s\), got 20$/],
    ['NTCIP version', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: '2c', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.version: expected one of 1, 2, 3, got "2c" \(did you mean "2"\?\)$/],
    ['NTCIP target', spatController({ kind: 'ntcip', version: 2, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.target: missing required key "target" \(HOST:PORT\)$/],
    ['SNMPv3 without user', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: 3, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.user: missing: SNMP version 3 needs a user/],
    ['SNMPv3 privacy key', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: 3, user: { name: 'rsu', authKey: 'authpass1' }, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.user\.privKey: missing: security level authPriv needs a privKey/],
    ['SNMPv3 short key', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: 3, user: { name: 'rsu', level: 'authNoPriv', authKey: 'short' }, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.user\.authKey: must be at least 8 characters long$/],
    ['NTCIP poll', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: 2, pollMs: 5, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.pollMs: expected an integer in ms between 20 and 60000, got 5$/],
    ['NTCIP staleness', spatController({ kind: 'ntcip', target: '10.0.0.2:161', version: 2, pollMs: 200, timeoutMs: 500, staleAfterMs: 600, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.staleAfterMs: expected at least pollMs \+ timeoutMs \(700 ms\)/],
    ['GB/T 20999 lamp group range', spatController({ kind: 'gbt20999', target: '10.0.0.3:4050', mapping: [{ signalGroup: 1, phase: 65 }] }), /^applications\.spat\.controller\.mapping\[0\]\.phase: expected an integer between 1 and 64, got 65$/],
    ['GB/T 20999 transport', spatController({ kind: 'gbt20999', target: '10.0.0.3:4050', transport: 'tpc', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.transport: expected one of udp, tcp, got "tpc"$/],
    ['GB/T 20999 controller id', spatController({ kind: 'gbt20999', target: '10.0.0.3:4050', controllerId: 2 ** 32, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.controllerId: expected an integer between 0 and 4294967295, got 4294967296$/],
    ['GB/T 20999 target', spatController({ kind: 'gbt20999', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.target: missing required key "target" \(HOST:PORT\)$/],
    ['GB/T 20999 staleness', spatController({ kind: 'gbt20999', target: '10.0.0.3:4050', pollMs: 200, timeoutMs: 500, staleAfterMs: 600, mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.staleAfterMs: expected at least pollMs \+ timeoutMs \(700 ms\)/],
    ['GB/T 20999 port shared with the radio receiver', spatController({ kind: 'gbt20999', target: '10.0.0.3:4050', listen: '0.0.0.0:15031', mapping: [{ signalGroup: 1, phase: 1 }] }), /^applications\.spat\.controller\.listen: port 15031\/udp is also used by radio\.receive\.listen$/],
  ];
  for (const [name, input, re] of cases) {
    const errors = errorsOf(input);
    t.ok(errors.some((e) => re.test(e)), `${name}: ${re} in ${JSON.stringify(errors)}`);
  }
});

t.test('all errors are collected in one pass', async (t) => {
  const errors = errorsOf({
    messageSet: 'x',
    rsu: { id: '', refrence: {} },
    sensors: [lidar({ pose: { yaw: 'abc', pitch: 100 } })],
    logging: { level: 'verbose' },
    metrics: { port: -1 },
  });
  t.same(
    errors.map((e) => e.split(':')[0]).sort(),
    ['logging.level', 'messageSet', 'metrics.port', 'rsu.id', 'rsu.refrence', 'sensors[0].pose.pitch', 'sensors[0].pose.yaw'],
  );
});

t.test('a rule that spans keys is checked beside a wrong value elsewhere', async (t) => {
  const errors = errorsOf({ messageSet: 'x', sensors: [lidar(), lidar()], radio: { udpRaw: { tagret: 1 } } });
  t.same(errors.map((e) => e.split(':')[0]).sort(), ['messageSet', 'radio.udpRaw.tagret', 'sensors[1].id']);
  t.ok(errors.some((e) => /^sensors\[1\]\.id: duplicate sensor id "l1"/.test(e)), errors.join('\n'));
});

t.test('YAML syntax errors carry line and column', async (t) => {
  const r = configCheck(fixture('syntax-error.yaml'));
  t.equal(r.ok, false);
  t.equal(r.errors.length >= 1, true);
  const e = r.errors[0]!;
  t.match(formatIssue(e), /syntax-error\.yaml:\d+:\d+: YAML syntax error: /);
  t.ok(e.line! >= 6 && e.line! <= 7, `line ${e.line} is where the unclosed mapping is`);
  t.throws(() => loadConfig(fixture('syntax-error.yaml')), ConfigError);
});

t.test('duplicate keys are syntax errors with their line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'dup.yaml');
  writeFileSync(f, 'rsu:\n  id: A\n  id: B\n');
  const r = configCheck(f);
  t.match(r.errors.map(formatIssue), [/dup\.yaml:3:3: YAML syntax error: Map keys must be unique/]);
});

t.test('validation errors point at the line of their key', async (t) => {
  const r = configCheck(fixture('bad-values.yaml'));
  t.equal(r.ok, false);
  const lines = Object.fromEntries(r.errors.map((e) => [e.path, e.line]));
  t.same(lines, {
    messageSet: 4,
    'sensors[0].pose.yaw': 10,
    'sensors[1].intrinsics.distortion': 14,
    'radio.udpRaw.tagret': 18,
    'time.maxClockOffsetMs': 20,
  });
  t.match(formatIssue(r.errors.find((e) => e.path === 'radio.udpRaw.tagret')!), /bad-values\.yaml:18:5: radio\.udpRaw\.tagret: unknown key "tagret" \(did you mean "target"\?\)/);
  t.same(r.errors.map((e) => e.line), [...r.errors.map((e) => e.line)].sort((a, b) => a! - b!), 'sorted by line');
  const err = t.throws(() => loadConfig(fixture('bad-values.yaml'))) as ConfigError;
  t.equal(err.errors.length, 5);
  t.match(err.message, /invalid configuration \(5 errors\):\n {2}.*bad-values\.yaml:4:1: messageSet:/);
});

t.test('an unreadable config file is an error, not an exception', async (t) => {
  const r = configCheck(fixture('does-not-exist.yaml'));
  t.equal(r.ok, false);
  t.match(formatIssue(r.errors[0]!), /does-not-exist\.yaml: cannot read the config file: no such file \(ENOENT\)/);
});

t.test('an empty file is the default config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'empty.yaml');
  writeFileSync(f, '# nothing\n');
  const r = configCheck(f);
  t.ok(r.ok, r.errors.map(formatIssue).join('\n'));
  t.equal(r.config!.sensors.length, 5);
});

t.test('signal controller errors point at the line of their key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'controller.yaml');
  writeFileSync(
    f,
    [
      'applications:',
      '  spat:',
      '    controller:',
      '      kind: ntcip',
      '      target: 10.0.0.2',
      '      version: 3',
      '      mapping:',
      '        - { signalGroup: 2, phase: 2 }',
      '        - { signalGroup: 4, phase: 0 }',
      '',
    ].join('\n'),
  );
  const r = configCheck(f);
  t.equal(r.ok, false);
  t.same(
    r.errors.map((e) => `${e.line}: ${e.path}`),
    ['5: applications.spat.controller.target', '9: applications.spat.controller.mapping[1].phase'],
  );
});

t.test('a good signal controller section: defaults filled in, warnings for ignored keys', async (t) => {
  const ok = (controller: unknown) => {
    const r = validateConfig(spatController(controller));
    t.ok(r.ok, r.errors.map(formatIssue).join('\n'));
    return { c: r.config?.applications.spat.controller, warnings: r.warnings.map(formatIssue).filter((w) => !w.startsWith('sensors') && !w.startsWith('rsu.')) };
  };
  t.same(ok({ kind: 'tscbm', listen: '0.0.0.0:6053', mapping: [{ signalGroup: 2, phase: 2 }, { signalGroup: 12, phase: 2, type: 'pedestrian' }] }).c, {
    kind: 'tscbm',
    listen: '0.0.0.0:6053',
    staleAfterMs: 1000,
    mapping: [{ signalGroup: 2, phase: 2, type: 'vehicle' }, { signalGroup: 12, phase: 2, type: 'pedestrian' }],
  });
  t.same(ok({ kind: 'ntcip', target: '10.0.0.2:161', version: 2, mapping: [{ signalGroup: 1, phase: 1 }] }).c, {
    kind: 'ntcip',
    target: '10.0.0.2:161',
    version: 2,
    pollMs: 100,
    timeoutMs: 500,
    preempts: [1, 2],
    mapping: [{ signalGroup: 1, phase: 1, type: 'vehicle' }],
  });
  t.same(ok({ kind: 'gbt20999', target: '10.0.0.3:4050', mapping: [{ signalGroup: 1, phase: 1 }] }).c, {
    kind: 'gbt20999',
    target: '10.0.0.3:4050',
    transport: 'udp',
    hostId: 1,
    roadId: 0,
    intersection: 1,
    version: 0x0100,
    pollMs: 100,
    timeoutMs: 500,
    mapping: [{ signalGroup: 1, phase: 1, type: 'vehicle' }],
  });
  const gbTcp = ok({ kind: 'gbt20999', target: '10.0.0.3:8881', transport: 'tcp', listen: '0.0.0.0:5051', controllerId: 0x009a2109, mapping: [{ signalGroup: 1, phase: 64 }] });
  t.match(gbTcp.c, { transport: 'tcp', controllerId: 0x009a2109 });
  t.same(gbTcp.warnings, ['applications.spat.controller.listen: ignored with transport tcp (the RSU connects to the controller)']);
  t.same(ok({ kind: 'gbt20999', target: '10.0.0.3:4050', transport: 'tcp', listen: '0.0.0.0:15031', mapping: [{ signalGroup: 1, phase: 1 }] }).warnings.length, 1, 'a TCP controller does not take a UDP port');
  const v3 = ok({ kind: 'ntcip', target: '10.0.0.2:161', version: 3, community: 'public', user: { name: 'rsu', authKey: 'authpass1', privKey: 'privpass1' }, mapping: [{ signalGroup: 1, phase: 1 }] });
  t.match(v3.c, { user: { name: 'rsu', level: 'authPriv', authProtocol: 'sha', privProtocol: 'aes' } });
  t.same(v3.warnings, ['applications.spat.controller.community: ignored with SNMP version 3 (it uses user)']);
  t.same(ok({ kind: 'simulated' }).c, { kind: 'simulated', mode: 'fixed' });
  // Actuated stages default to the plan's phases in offset order, with the plan's all-red.
  const act = ok({ kind: 'simulated', mode: 'actuated' }).c;
  t.same(act, {
    kind: 'simulated',
    mode: 'actuated',
    stages: [
      { phases: [1], minGreen: 10, maxGreen: 25, passage: 3, yellow: 3, red: 2 },
      { phases: [2], minGreen: 10, maxGreen: 25, passage: 3, yellow: 3, red: 2 },
    ],
  });
  // The resolved section is valid input and resolves to itself.
  t.same(ok(act).c, act);
});

t.test('applications.rsi.detectedEventCodes: the deployer\'s codes for the detected kinds', async (t) => {
  const r = validateConfig({ applications: { rsi: { detectedEventCodes: { 'stopped-vehicle': 1234, speeding: 901 } } } });
  t.ok(r.ok, r.errors.map(formatIssue).join('\n'));
  t.same(r.config!.applications.rsi.detectedEventCodes, { 'stopped-vehicle': 1234, speeding: 901 });
  t.same(validateConfig({}).config!.applications.rsi.detectedEventCodes, {}, 'none by default');
});
