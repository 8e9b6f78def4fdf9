// Sensor side of `npm run bench:pipeline`, in its own process: N objects moving through the intersection, seen
// by the demo's lidars (10 Hz) and cameras (15 Hz), sent to the daemon's UDP ingest at real rates.
import { DetectionSender } from '../hw/sensors/index.js';
import { defaultConfig } from '../runtime/config/index.js';
import { buildSensorModels, cameraDetection, DEFAULT_MEASUREMENT_OPTIONS, Georef, lidarDetection, type GroundTruthObject } from '../runtime/perception/index.js';

const [n, port, seconds] = process.argv.slice(2).map(Number) as [number, number, number];
const cfg = defaultConfig({ onWarning: () => {} });
const models = buildSensorModels(cfg, new Georef(cfg.rsu.reference, cfg.rsu.stationFrame), DEFAULT_MEASUREMENT_OPTIONS).filter((m) => m.enabled);
const lidars = models.filter((m) => m.kind === 'lidar');
const cx = lidars.reduce((s, m) => s + m.origin.x, 0) / lidars.length;
const cy = lidars.reduce((s, m) => s + m.origin.y, 0) / lidars.length;
// A grid of road users 4 m apart around the lidars, each moving at its own speed along x.
const side = Math.ceil(Math.sqrt(n));
const objects: GroundTruthObject[] = Array.from({ length: n }, (_, i) => ({
  id: i + 1,
  classification: i % 5 === 0 ? 'pedestrian' : 'car',
  x: cx + ((i % side) - side / 2) * 4,
  y: cy + (Math.floor(i / side) - side / 2) * 4,
  yaw: 0,
  length: i % 5 === 0 ? 0.5 : 4.5,
  width: i % 5 === 0 ? 0.5 : 1.8,
  height: i % 5 === 0 ? 1.7 : 1.5,
}));
const speed = objects.map((_, i) => (i % 5 === 0 ? 1.3 : 3 + (i % 7)));

const sender = await DetectionSender.connect(`127.0.0.1:${port}`, { protocol: 'udp' });
const frameNo = new Map<string, number>();
const t0 = Date.now();
let lastLidar = 0;
let lastCamera = 0;
while (Date.now() - t0 < seconds * 1000) {
  const now = Date.now();
  const s = (now - t0) / 1000;
  const scene = objects.map((o, i) => ({ ...o, x: o.x + (((speed[i]! * s) % 40) - 20) }));
  const send = (m: (typeof models)[number]) => {
    const objs = scene.map((o) => (m.kind === 'camera' ? cameraDetection(m, o) : lidarDetection(m, o))).filter((d) => d !== null);
    const k = (frameNo.get(m.id) ?? 0) + 1;
    frameNo.set(m.id, k);
    sender.send({ sensorId: m.id, captureTimeNs: BigInt(now) * 1_000_000n, frameNumber: k, objects: objs });
  };
  if (now - lastLidar >= 100) {
    lastLidar = now;
    lidars.forEach(send);
  }
  if (now - lastCamera >= 66) {
    lastCamera = now;
    models.filter((m) => m.kind === 'camera').forEach(send);
  }
  await new Promise((r) => setTimeout(r, 5));
}
await sender.close();
