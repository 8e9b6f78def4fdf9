// Issue 16 point 1: `rsu replay` with the site's config, on the box where the live daemon runs, touches nothing of
// the live world: no radio datagram, nothing on the (production) broker, not the live daemon's MQTT session, its
// ports, spool or status socket. With --uplink it publishes under a client id of its own.
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { DetectionSender } from '../hw/sensors/index.js';
import type { Io } from '../runtime/cli/io.js';
import { main } from '../runtime/cli/main.js';
import { loadConfig } from '../runtime/config/index.js';
import { startDaemon } from '../runtime/daemon.js';
import { DEFAULT_MEASUREMENT_OPTIONS, Georef, buildSensorModels, lidarDetection } from '../runtime/perception/index.js';
import { freePort, Mosquitto, mosquittoMissing, UplinkVerifier } from './support/mosquitto.js';
import { freeUdpPort } from './support/ports.js';
import { tmpDir, until } from './support/wait.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdin: Readable.from(['']), out: (l) => out.push(l), err: (l) => err.push(l) };
  return { code: await main(argv, io), out, err };
}

const skip = mosquittoMissing();

t.test('replay beside a live daemon, with the site config', { skip }, async (t) => {
  const dir = tmpDir(t, 'rsu-replay-');
  const broker = await Mosquitto.start();
  t.teardown(() => broker.stop());
  // The radio: a UDP sink that notes which socket each datagram came from.
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sink.close());
  const from: number[] = [];
  sink.on('message', (_m, rinfo) => from.push(rinfo.port));

  const ingestPort = await freeUdpPort();
  const rxPort = await freeUdpPort();
  const metricsPort = await freePort();
  const spool = join(dir, 'spool');
  const site = join(dir, 'site.yaml');
  writeFileSync(
    site,
    [
      'rsu: { id: RPLY-1 }',
      `ingest: { listeners: [{ protocol: udp, listen: "127.0.0.1:${ingestPort}", format: protobuf }] }`,
      `radio: { mode: udp-raw, udpRaw: { target: "127.0.0.1:${sink.address().port}" }, receive: { listen: "127.0.0.1:${rxPort}" } }`,
      `uplink: { mqtt: { url: "${broker.url}", embeddedBroker: false, clientId: site-rsu-1 }, spool: { dir: "${spool}" } }`,
      `metrics: { host: 127.0.0.1, port: ${metricsPort} }`,
      'logging: { level: silent }',
      '',
    ].join('\n'),
  );
  const cfg = loadConfig(site, { onWarning: () => {} });
  const socket = join(dir, 'live.sock');
  const record = join(dir, 'inputs.jsonl');
  const live = await startDaemon({ config: cfg, socketPath: socket, recordTo: record });
  t.teardown(() => live.stop());
  const verifier = await UplinkVerifier.connect(broker.url, 'RPLY-1');
  t.teardown(() => verifier.end());

  // Ten sensor frames into the live daemon, recorded.
  const lidar = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS).find((s) => s.id === 'lidar_north')!;
  const sender = await DetectionSender.connect(`127.0.0.1:${ingestPort}`, { protocol: 'udp' });
  for (let k = 0; k < 10; k++) {
    const o = { id: 1, classification: 'car' as const, x: lidar.origin.x + 8 + k, y: lidar.origin.y + 6, yaw: 0, length: 4.5, width: 1.8, height: 1.5 };
    sender.send({ sensorId: 'lidar_north', captureTimeNs: BigInt(Date.now()) * 1_000_000n, frameNumber: k + 1, objects: [lidarDetection(lidar, o)!] });
    await new Promise((r) => setTimeout(r, 100));
  }
  await sender.close();
  await until('the live daemon publishes', () => verifier.received > 10, 5000);
  const liveRadio = new Set(from);
  t.equal(liveRadio.size, 1, 'the live daemon sends from one socket');
  const mqttBefore = (live.status().uplink as { mqtt: { connects: number; disconnects: number } }).mqtt;
  const clientsBefore = broker.log().match(/New client connected/g)?.length ?? 0;
  const seqsBefore = new Set(verifier.seen.keys());

  // The replay, with the same site config: its ports, spool dir and client id are taken by the live daemon.
  const replayed = await run(['replay', record, '--config', site]);
  t.equal(replayed.code, 0, replayed.err.join('\n'));
  t.match(replayed.out[0], /^replayed 10 inputs from .*; built \(radio off\) .*\d+ rsm/, 'it ran the pipeline');
  await new Promise((r) => setTimeout(r, 300));
  t.same([...new Set(from)], [...liveRadio], 'no radio datagram from the replay');
  t.equal(broker.log().match(/New client connected/g)?.length ?? 0, clientsBefore, 'no connection to the broker from the replay');
  const mqttAfter = (live.status().uplink as { mqtt: { connects: number; disconnects: number } }).mqtt;
  t.equal(mqttAfter.disconnects, mqttBefore.disconnects, 'the live daemon kept its MQTT session');
  t.equal(mqttAfter.connects, mqttBefore.connects);
  t.notOk(verifier.statuses.some((s) => s.state !== 'ONLINE'), `no OFFLINE status published: ${verifier.statuses.map((s) => s.state)}`);
  const newSeqs = [...verifier.seen.keys()].filter((s) => !seqsBefore.has(s));
  t.ok(newSeqs.every((s) => s > Math.max(...seqsBefore)), 'whatever arrived since is the live daemon continuing its own sequence');
  t.same(readdirSync(spool).filter((f) => f.includes('replay')), [], 'the live spool is untouched');
  t.ok(existsSync(socket), 'the live status socket is still there');
  const st = await run(['status', '--json', '--socket', socket]);
  t.equal(st.code === 0 || st.code === 3, true, 'and answers');
  t.equal(JSON.parse(st.out[0]!).rsuId, 'RPLY-1');

  // --uplink: publishes, but as a client of its own and under an RSU id of its own (RPLY-1-replay): the site's
  // records, sequence numbers and retained status are the live daemon's alone.
  const replayVerifier = await UplinkVerifier.connect(broker.url, 'RPLY-1-replay');
  t.teardown(() => replayVerifier.end());
  const siteSeen = new Map(verifier.seen);
  const siteStatuses = verifier.statuses.length;
  const up = await run(['replay', record, '--config', site, '--uplink', '--as-fast-as-possible']);
  t.equal(up.code, 0, up.err.join('\n'));
  t.match(up.out[0], /; published as RPLY-1-replay$/);
  t.match(broker.log(), new RegExp(`as site-rsu-1-replay-${process.pid}`), 'the replay connected with a client id of its own');
  await until('the replay\'s records under its own id', () => replayVerifier.received > 0, 5000);
  t.ok(replayVerifier.seen.has(1), 'its own sequence, from 1');
  t.ok(replayVerifier.statuses.length > 0, 'its status under its own id');
  await new Promise((r) => setTimeout(r, 300));
  t.same([...siteSeen].filter(([seq, n]) => verifier.seen.get(seq) !== n), [], 'no record again under a sequence number of the site\'s');
  t.ok([...verifier.seen.keys()].filter((s) => !siteSeen.has(s)).every((s) => s > Math.max(...siteSeen.keys())), 'under the site id only the live daemon\'s sequence goes on');
  t.notOk(verifier.statuses.slice(siteStatuses).some((s) => s.state !== 'ONLINE'), `the site's retained status untouched: ${verifier.statuses.map((s) => s.state)}`);
  const mqttLast = (live.status().uplink as { mqtt: { connects: number; disconnects: number } }).mqtt;
  t.equal(mqttLast.disconnects, mqttBefore.disconnects, 'the live daemon was not knocked off the broker');

  // --uplink-id: the explicit override, here the site's own id.
  const seq1 = verifier.seen.get(1) ?? 0;
  const asSite = await run(['replay', record, '--config', site, '--uplink', '--uplink-id', 'RPLY-1', '--as-fast-as-possible']);
  t.equal(asSite.code, 0, asSite.err.join('\n'));
  t.match(asSite.out[0], /; published as RPLY-1$/);
  await until('records under the site id from the replay (its sequence from 1 again)', () => (verifier.seen.get(1) ?? 0) > seq1, 5000);
});

t.test('replay: usage', async (t) => {
  t.equal((await run(['replay', 'x.jsonl', '--uplink-id', 'X'])).code, 2, '--uplink-id without --uplink');
  t.match((await run(['replay', 'x.jsonl', '--uplink', '--uplink-id', 'a/b'])).err[0], /--uplink-id: .*MQTT topic level/);
  t.equal((await run(['replay', 'x.jsonl', '--speed', '0'])).code, 2);
  t.equal((await run(['replay', 'x.jsonl', '--speed', '2', '--as-fast-as-possible'])).code, 2);
  const missing = await run(['replay', '/nonexistent/x.jsonl']);
  t.equal(missing.code, 2);
  t.match(missing.err[0], /nonexistent/);
});
