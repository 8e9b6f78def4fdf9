import t from 'tap';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CALIB_DIR_ENV, configCheck, defaultConfig, demoCalibrationDir, loadConfig, validateConfig, formatIssue, type RsuConfig } from '../runtime/config/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/config/${name}`, import.meta.url));

t.test('the defaults validate and describe the demo site', async (t) => {
  const r = validateConfig({});
  t.ok(r.ok, r.errors.map(formatIssue).join('\n'));
  const c = r.config!;
  t.equal(c.messageSet, 'csae2020');
  t.equal(c.radio.mode, 'udp-raw');
  t.match(c.radio.udpRaw.target, /^127\.0\.0\.1:\d+$/);
  t.equal(c.uplink.mqtt.enabled, true);
  t.equal(c.uplink.mqtt.embeddedBroker, false, 'the embedded broker is the demo\'s: rsu run starts none');
  t.match(c.uplink.mqtt.url, /^mqtt:\/\/(127\.0\.0\.1|localhost):\d+$/);
  t.ok(c.uplink.spool.dir.length > 0);
  t.equal(c.time.source, 'system');
  t.same(
    c.sensors.map((s) => s.kind),
    ['lidar', 'lidar', 'camera', 'camera', 'camera'],
  );
  for (const s of c.sensors) {
    t.ok(s.calibration, `${s.id} comes from a calibration file`);
    t.ok(Number.isFinite(s.pose.x) && Number.isFinite(s.pose.yaw), `${s.id} has a pose`);
    if (s.kind === 'camera') t.ok(s.intrinsics && s.intrinsics.fx > 0 && s.intrinsics.width > 0, `${s.id} has intrinsics`);
    else t.equal(s.intrinsics, undefined);
  }
  // The station frame of the TUMTraf files is rotated against the map frame (its x axis points south).
  t.equal(Math.round(c.rsu.stationFrame.yaw), -90);
  t.ok(c.applications.spat.phases.length >= 2);
  t.same(c.applications.spat.controller, { kind: 'plan' }, 'SPAT from the fixed-time plan unless a controller is configured');
});

t.test('the resolved config is valid input and resolves to itself', async (t) => {
  const c = defaultConfig();
  const again = validateConfig(JSON.parse(JSON.stringify(c)) as unknown);
  t.ok(again.ok, again.errors.map(formatIssue).join('\n'));
  t.same(again.config, c);
  t.same(again.warnings.filter((w) => !w.path.startsWith('sensors')), [], 'no warnings besides calibration doubts');
});

t.test('loadConfig() without a file is the default config', async (t) => {
  t.same(loadConfig(), defaultConfig());
});

t.test('a file with only the RSU id keeps every other default', async (t) => {
  const c = loadConfig(fixture('minimal.yaml'));
  t.equal(c.rsu.id, 'RSU-DEMO');
  const d = defaultConfig();
  t.same({ ...c, rsu: { ...c.rsu, id: d.rsu.id } }, d);
});

t.test('the full example file loads with every section as written', async (t) => {
  const warnings: string[] = [];
  const c: RsuConfig = loadConfig(fileURLToPath(new URL('../deploy/rsu.example.yaml', import.meta.url)), { onWarning: (w) => warnings.push(formatIssue(w)) });
  t.same(warnings, []);
  t.equal(c.time.source, 'gpsd');
  t.equal(c.uplink.mqtt.version, '3.1.1', 'YAML reads 3.1.1 as a string');
  t.equal(c.uplink.spool.maxBytes, 512 * 1024 * 1024);
  t.equal(c.ingest.maxFrameBytes, 1024 * 1024);
  t.equal(c.radio.immediateForward.messages.SPAT?.psid, 0x8002);
  t.equal(c.radio.immediateForward.messages.MAP?.psid, 0xe0000017);
  t.equal(c.sensors.length, 4);
  const radar = c.sensors.find((s) => s.id === 'radar_east')!;
  t.same(radar.pose, { x: 20, y: -5, z: 6, roll: 0, pitch: 5, yaw: 180 });
  t.equal(radar.clockOffsetMs, -12.5);
  t.same(radar.source, { address: '10.0.0.31', port: 2368 });
  t.equal(c.sensors[2]!.latencyMs, 40);
  t.equal(c.applications.rsi.events[0]?.description, 'road works');
  t.same(c.applications.spat.controller, {
    kind: 'tscbm',
    listen: '0.0.0.0:6053',
    controllerAddress: '192.168.10.20',
    staleAfterMs: 1000,
    mapping: [
      { signalGroup: 1, phase: 2, type: 'vehicle' },
      { signalGroup: 2, phase: 4, type: 'vehicle' },
      { signalGroup: 11, phase: 2, type: 'pedestrian' },
    ],
  });
  // Relative calibration paths resolve against the config file's directory.
  t.match(c.sensors[0]!.calibration!.file, /\/deploy\/calib\/tumtraf-s110\/s110_lidar_ouster_north\.json$/);
});

t.test('sensors written out without calibration files', async (t) => {
  const r = configCheck(fixture('explicit-sensors.yaml'));
  t.ok(r.ok, r.errors.map(formatIssue).join('\n'));
  t.same(r.warnings, []);
  const c = r.config!;
  t.equal(c.rsu.id, '0x0102030405060708');
  t.same(c.rsu.stationFrame, { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 }, 'no demo station frame with own sensors');
  t.equal(c.sensors[1]!.intrinsics!.cx, 960);
  t.equal(c.sensors[1]!.latencyMs, 60);
});

t.test('own sensors without a reference position: a warning, not an error', async (t) => {
  const r = validateConfig({ sensors: [{ id: 'l', kind: 'lidar', pose: {} }] });
  t.ok(r.ok);
  t.match(r.warnings.map(formatIssue), [/^rsu\.reference: not set/]);
});

t.test('a problem in a built-in default says so; the same in the file does not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-calib-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const calib = demoCalibrationDir()!;
  for (const f of readdirSync(calib)) copyFileSync(join(calib, f), join(dir, f));
  writeFileSync(join(dir, 's110_lidar_ouster_south.json'), '{}');
  const before = process.env[CALIB_DIR_ENV];
  process.env[CALIB_DIR_ENV] = dir;
  t.teardown(() => (before === undefined ? delete process.env[CALIB_DIR_ENV] : (process.env[CALIB_DIR_ENV] = before)));
  t.match(validateConfig({}).errors.map(formatIssue), [/^sensors\[1\]\.calibration\.file: .* \(in the built-in default\)$/]);
  const own = validateConfig({ sensors: [{ id: 'l', kind: 'lidar', calibration: { file: join(dir, 's110_lidar_ouster_south.json') } }] });
  t.match(own.errors.map(formatIssue), [/^sensors\[0\]\.calibration\.file: /]);
  t.notMatch(own.errors.map(formatIssue).join('\n'), /built-in default/);
});
