// Issue 16 point 7 (the view): the health panel (time, each sensor, uplink links), a legend, RSI signs on screen
// at the default zoom, event radii as outlines. Headless Chromium on a quiet daemon (no road users needed).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from '../runtime/daemon.js';
import { demoLaneMapPath, EnuFrame, loadLaneMap } from '../runtime/map/index.js';
import { serveView } from '../runtime/view/server.js';
import { quietDaemonConfig } from './support/quiet-daemon.js';
import { tmpDir } from './support/wait.js';

const CHROMIUM = process.env.RSU_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium; RSU_CHROMIUM names another binary)`;

t.test('view: health panel, legend, signs on screen', { skip, timeout: 120_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const dir = tmpDir(t, 'rsu-ops-view-');
  const cfg = quietDaemonConfig();
  cfg.applications.map = { ...cfg.applications.map, enabled: true, file: demoLaneMapPath() };
  // A speed-limit sign 90 m north of the reference: beyond the lane map's extent.
  const g = new EnuFrame(cfg.rsu.reference).toGeo(0, 90, 0);
  cfg.applications.rsi = { ...cfg.applications.rsi, enabled: true, signs: [{ id: 3, kind: 'speed-limit', speedLimitKmh: 50, lat: g.lat, lon: g.lon, radiusM: 80, priority: 3, description: 'speed limit 50 km/h' }] };
  const d = await startDaemon({ config: cfg, socketPath: false });
  t.teardown(() => d.stop());
  const view = await serveView(d, { laneMap: loadLaneMap(demoLaneMapPath()), urlFile: join(dir, 'view.url'), rateHz: 5 });
  t.teardown(() => view.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  t.equal((await page.goto(view.url))?.status(), 200);

  await page.waitForSelector('#sensors tr[data-sensor="lidar_north"]', { timeout: 20_000 });
  t.equal(await page.locator('#sensors tbody tr').count(), cfg.sensors.length, 'a health row per sensor');
  t.match(await page.locator('#sensors tr[data-sensor="lidar_north"]').textContent(), /never/, 'a sensor that never sent says so');
  t.match(await page.locator('#timehealth').textContent(), /^time: system, offset unknown, /);
  t.match(await page.locator('#legend').textContent(), /signal head.*road user.*RSI event.*RSI sign/);

  await page.waitForSelector('g.rsi-event.sign[data-id="3"]', { timeout: 20_000 });
  const labels = await page.$$eval('g.rsi-event.sign text', (ts) => ts.map((x) => x.textContent).join(' '));
  t.equal(labels.match(/50 km\/h/g)?.length, 1, `the limit is said once: ${labels}`);
  t.equal(await page.locator('g.rsi-event.sign circle').getAttribute('fill'), 'none', 'its radius as an outline');
  const onScreen = await page.evaluate(() => {
    const svg = document.querySelector('svg#map') as SVGSVGElement;
    const box = svg.getBoundingClientRect();
    const r = (document.querySelector('g.rsi-event.sign polygon') as SVGGraphicsElement).getBoundingClientRect();
    return r.width > 0 && r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
  });
  t.ok(onScreen, 'the sign is on screen at the default zoom');
  t.same(problems, [], 'no page or console error');
});
