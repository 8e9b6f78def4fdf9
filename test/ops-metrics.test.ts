// Issue 16 point 6: the metrics follow Prometheus' conventions, as promtool (the Prometheus project's own linter)
// checks them: one `rsu_` prefix, base units, counters ending in `_total`; the clock offset is absent while
// unknown (0 would claim a perfect clock); every configured sensor has its last-frame-age series.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { startDaemon } from '../runtime/daemon.js';
import { freePort } from './support/mosquitto.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const missing = existsSync(PROMTOOL) ? undefined : `promtool not found at ${PROMTOOL} (apt-get install prometheus, or set PROMTOOL)`;

t.test('metrics pass promtool check metrics', async (t) => {
  const cfg = quietDaemonConfig();
  cfg.metrics.port = await freePort();
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  const text = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();

  t.notMatch(text, /rsu_process_process_|rsu_process_nodejs_/, 'no double prefix');
  t.match(text, /^rsu_process_cpu_seconds_total /m);
  t.match(text, /^# TYPE rsu_sensor_frames_dropped_total counter$/m);
  t.match(text, /^# TYPE rsu_radio_rx_decode_errors_total counter$/m);
  t.notMatch(text, /^rsu_clock_offset/m, 'no clock offset sample while it is unknown (time source: system)');
  t.notMatch(text, /rsu_clock_offset_ms/, 'seconds, not ms');
  for (const s of cfg.sensors) t.match(text, new RegExp(`^rsu_sensor_last_frame_age_seconds\\{sensor="${s.id}"\\} \\+Inf$`, 'm'), `${s.id}: never sent, age +Inf`);
  for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE '))) {
    const [, , name, type] = line.split(' ');
    t.ok(name!.startsWith('rsu_'), `${name}: one rsu_ prefix`);
    if (type === 'counter') t.ok(name!.endsWith('_total'), `${name}: counter ends in _total`);
    else t.notOk(name!.endsWith('_total'), `${name}: only counters end in _total`);
  }

  if (missing) return t.skip(`promtool lint: ${missing}`);
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, `promtool check metrics exits 0\n${r.stdout}${r.stderr}`);
  t.equal((r.stdout + r.stderr).trim(), '', 'and finds nothing to say');
});
