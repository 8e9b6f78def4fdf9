// `rsu view` end to end: the demo daemon and the view in this process, Debian's Chromium (headless, driven by
// playwright-core; no browser download) opens the page; road users, coloured signal heads with countdowns, an RSI
// event and message rates appear; requests without the token get 403. The screenshot goes to a temporary file, or
// to the README's docs/view.png with RSU_VIEW_SCREENSHOT=docs/view.png.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startDemo } from '../runtime/cli/demo.js';
import { EnuFrame } from '../runtime/map/index.js';
import { serveView } from '../runtime/view/server.js';

const CHROMIUM = process.env.RSU_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium; RSU_CHROMIUM names another binary)`;
const screenshot = process.env.RSU_VIEW_SCREENSHOT
  ? new URL(`../${process.env.RSU_VIEW_SCREENSHOT}`, import.meta.url).pathname
  : join(mkdtempSync(join(tmpdir(), 'rsu-view-')), 'view.png');

t.test('rsu view in headless Chromium', { skip, timeout: 120_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'rsu-view-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The demo, with one configured RSI event 20 m south-east of the crossing (road works, GB/T 29100 type 401).
  const demo = await startDemo({
    socketPath: join(dir, 'rsu.sock'),
    configure: (cfg) => {
      const g = new EnuFrame(cfg.rsu.reference).toGeo(24, -26, 0);
      cfg.applications.rsi.events = [{ id: 7, type: 401, description: 'road works', lat: g.lat, lon: g.lon, radiusM: 6, priority: 3 }];
    },
  });
  t.teardown(() => demo.stop());
  const view = await serveView(demo.daemon, { laneMap: demo.laneMap, urlFile: join(dir, 'view.url'), rateHz: 5 });
  t.teardown(() => view.close());

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

  // Without the token: 403, and no page.
  const bare = await page.goto(view.url.replace(/\?token=.*$/, ''));
  t.equal(bare?.status(), 403, 'the page without the token: 403');
  const wrong = await page.goto(view.url.replace(/token=.*$/, 'token=guess'));
  t.equal(wrong?.status(), 403, 'a wrong token: 403');
  const sse = await page.request.get(view.url.replace('/?', '/events?').replace(/token=.*$/, ''));
  t.equal(sse.status(), 403, 'the stream without the token: 403');
  const rebound = await page.request.get(view.url, { headers: { host: `rsu.evil.example:${view.port}` } });
  t.equal(rebound.status(), 403, 'a foreign Host header, even with the token: 403');

  // From here on, no script error and no console error (a CSP violation would be one).
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  const res = await page.goto(view.url);
  t.equal(res?.status(), 200, 'the page with the token');

  // The map: lanes, crosswalks, stop lines, a signal head per approach and group.
  await page.waitForSelector('g.lane.vehicle');
  t.equal(await page.locator('g.lane.vehicle').count(), 14, 'the demo map has 14 vehicle lanes');
  t.equal(await page.locator('g.lane.crosswalk').count(), 4, 'and 4 crosswalks');
  t.equal(await page.locator('line.stop-line').count(), 8, 'a stop line per ingress lane');
  t.equal(await page.locator('g.signal-head.vehicle').count(), 4, 'a vehicle signal head per approach');
  t.equal(await page.locator('g.signal-head.pedestrian').count(), 8, 'pedestrian heads at both ends of each crosswalk');

  // Live: signal heads lit by the SPaT with countdowns, road users from the RSM, the RSI event, rates.
  await page.waitForSelector('g.signal-head.vehicle[data-colour="green"], g.signal-head.vehicle[data-colour="yellow"]', { timeout: 15_000 });
  await page.waitForSelector('g.signal-head.vehicle[data-colour="red"]', { timeout: 15_000 });
  const countdown = await page.locator('g.signal-head.vehicle text.countdown').first().textContent();
  t.match(countdown, /^\d+(\.\d)?$/, `a countdown on the head (${countdown})`);
  await page.waitForFunction(() => document.querySelectorAll('g.track').length >= 3, undefined, { timeout: 30_000 });
  const tracks = await page.$$eval('g.track', (gs) => gs.map((g) => ({ id: g.getAttribute('data-id'), cls: g.getAttribute('data-cls') })));
  t.ok(tracks.length >= 3, `${tracks.length} road users drawn`);
  t.ok(tracks.every((x) => /^\d+$/.test(x.id ?? '') && x.cls && x.cls !== 'unknown'), `each with an id and a class: ${JSON.stringify(tracks.slice(0, 6))}`);
  const labels = await page.$$eval('g.tlabel text', (ts) => ts.map((x) => x.textContent));
  t.ok(labels.some((l) => /^\d+ (car|bus|truck|van|bicycle|pedestrian|motorcycle)$/.test(l ?? '')), `labels like ${labels[0]}`);
  await page.waitForSelector('g.rsi-event[data-id="7"][data-type="401"]', { timeout: 10_000 });
  t.pass('the RSI event is drawn');
  // Rates are over the daemon's last 5 s: once it has run that long, SPAT shows its 10 Hz.
  const spatRate = await page
    .waitForFunction(() => Number(document.querySelector('#rates tr[data-type="spat"] td:nth-child(2)')?.textContent) >= 8, undefined, { timeout: 15_000 })
    .then(() => page.locator('#rates tr[data-type="spat"] td:nth-child(2)').textContent())
    .catch(() => page.locator('#rates tr[data-type="spat"] td:nth-child(2)').textContent());
  t.ok(Number(spatRate) >= 8, `SPAT radio tx ${spatRate}/s in the panel`);
  t.equal(await page.locator('#signals tr[data-group]').count(), 2, 'both signal groups in the panel');

  // Let the road users fill the crossing, and the rates (over 5 s) settle, before the picture.
  await page.waitForFunction(() => document.querySelectorAll('g.track').length >= 8, undefined, { timeout: 20_000 }).catch(() => {});
  await page.waitForFunction(() => Number(document.querySelector('#rates tr[data-type="spat"] td:nth-child(2)')?.textContent) >= 9.6, undefined, { timeout: 10_000 }).catch(() => {});
  await page.waitForTimeout(600);
  await page.screenshot({ path: screenshot });
  t.ok(existsSync(screenshot), `screenshot: ${screenshot}`);
  t.same(problems, [], 'no script errors, no CSP violations');
});
