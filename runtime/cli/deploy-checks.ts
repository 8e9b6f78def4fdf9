// What `rsu config check` looks at beyond the config's own shape: the machine and files it will run with. Each of
// these passed the check and then failed `rsu run` (under systemd, a restart loop): a spool directory the daemon
// cannot write, two sections on one port, J2735 without its modules, a reference point with latitude and longitude
// swapped (TLS files in the wrong role are the config's own check: runtime/security/tls-certs.ts tlsFileProblem). Lives in the CLI because it reads the lane map and the
// codec's module directory, which depend on the config, not the reverse.
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { j2735Dir } from '../../codecs/index.js';
import { parseHostPort, type ConfigIssue, type RsuConfig } from '../config/index.js';
import { loadLaneMap } from '../map/index.js';

export function deploymentIssues(cfg: RsuConfig): ConfigIssue[] {
  return [...spoolIssues(cfg), ...portIssues(cfg), ...modulesIssues(cfg), ...referenceIssues(cfg)];
}

function spoolIssues(cfg: RsuConfig): ConfigIssue[] {
  if (!cfg.uplink.mqtt.enabled && !cfg.uplink.kafka.enabled) return [];
  const dir = cfg.uplink.spool.dir;
  // The daemon creates the directory: the nearest existing ancestor must let it.
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    if (!statSync(at).isDirectory()) return [{ path: 'uplink.spool.dir', message: `${at} is not a directory (the spool needs ${dir})` }];
    accessSync(at, constants.W_OK | constants.X_OK);
    return [];
  } catch {
    const what = at === dir ? `the spool directory ${dir} is not writable` : `the spool directory ${dir} cannot be created: ${at} is not writable`;
    return [{ path: 'uplink.spool.dir', message: `${what} by this user (the daemon's user must own it; the systemd unit: StateDirectory)` }];
  }
}

interface Bound {
  path: string;
  proto: 'udp' | 'tcp';
  host: string;
  port: number;
}

const ANY = new Set(['0.0.0.0', '::', '[::]', '']);

function portIssues(cfg: RsuConfig): ConfigIssue[] {
  const bound: Bound[] = [];
  const add = (path: string, proto: 'udp' | 'tcp', hostPort: string) => {
    const hp = parseHostPort(hostPort);
    if (hp && hp.port !== 0) bound.push({ path, proto, host: hp.host, port: hp.port });
  };
  cfg.ingest.listeners.forEach((l, i) => add(`ingest.listeners[${i}].listen`, l.protocol === 'tcp' ? 'tcp' : 'udp', l.listen));
  add('radio.receive.listen', 'udp', cfg.radio.receive.listen);
  if (cfg.metrics.port > 0) bound.push({ path: 'metrics.port', proto: 'tcp', host: cfg.metrics.host, port: cfg.metrics.port });
  const m = cfg.uplink.mqtt;
  if (m.enabled && m.embeddedBroker) {
    const u = new URL(m.url);
    bound.push({ path: 'uplink.mqtt.url', proto: 'tcp', host: u.hostname, port: Number(u.port || 1883) });
  }
  const out: ConfigIssue[] = [];
  bound.forEach((b, i) => {
    const first = bound.slice(0, i).find((a) => a.proto === b.proto && a.port === b.port && (a.host === b.host || ANY.has(a.host) || ANY.has(b.host)));
    if (first) out.push({ path: b.path, message: `port ${b.port}/${b.proto} is also taken by ${first.path}: the daemon would fail to bind it` });
  });
  return out;
}

function modulesIssues(cfg: RsuConfig): ConfigIssue[] {
  if (!cfg.messageSet.startsWith('j2735')) return [];
  let dir: string;
  try {
    dir = j2735Dir(cfg.messageSet as 'j2735-2020');
  } catch (e) {
    return [{ path: 'messageSet', message: (e as Error).message }];
  }
  let asn: string[];
  try {
    asn = readdirSync(dir).filter((f) => /\.asn1?$/i.test(f));
  } catch (e) {
    return [{ path: 'messageSet', message: `${cfg.messageSet}: the J2735 module directory ${dir} (RSU_J2735_ASN1_DIR) cannot be read: ${(e as Error).message}` }];
  }
  return asn.length ? [] : [{ path: 'messageSet', message: `${cfg.messageSet}: no .asn files in ${dir} (RSU_J2735_ASN1_DIR)` }];
}

/** Beyond this, the RSU and its MAP cannot be the same intersection, metres. */
const MAX_REFERENCE_DISTANCE_M = 1000;

function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

function referenceIssues(cfg: RsuConfig): ConfigIssue[] {
  const file = cfg.applications.map.enabled ? cfg.applications.map.file : undefined;
  if (!file) return [];
  let ref: { lat: number; lon: number };
  try {
    ref = loadLaneMap(file).reference;
  } catch (e) {
    return [{ path: 'applications.map.file', message: (e as Error).message }];
  }
  const msg = referenceMismatch(cfg.rsu.reference, ref, file);
  return msg ? [{ path: 'rsu.reference', message: msg }] : [];
}

/** Why the RSU's reference and its MAP's cannot be one intersection (too far apart; lat/lon swapped), if they cannot. */
export function referenceMismatch(rsu: { lat: number; lon: number }, ref: { lat: number; lon: number }, file: string): string | undefined {
  const d = distanceM(rsu, ref);
  if (d <= MAX_REFERENCE_DISTANCE_M) return undefined;
  const swapped = distanceM({ lat: rsu.lon, lon: rsu.lat }, ref) <= MAX_REFERENCE_DISTANCE_M;
  return `lat ${rsu.lat}, lon ${rsu.lon} is ${(d / 1000).toFixed(1)} km from the MAP's reference point (lat ${ref.lat}, lon ${ref.lon}, ${file})${swapped ? ': latitude and longitude are swapped' : ''}`;
}
