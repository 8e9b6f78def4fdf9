// `rsu view` end to end: the demo daemon and the view in this process, Debian's Chromium (headless, driven by
// playwright-core; no browser download) opens the page; road users, coloured signal heads with countdowns, an RSI
// event and message rates appear; requests without the token get 403. The screenshot goes to a temporary file, or
// to the README's docs/view.png with RSU_VIEW_SCREENSHOT=docs/view.png.
// Then `rsu view --socket` in a process of its own, attached to a daemon that runs on its own: the same live page,
// the page and the command saying so when the daemon stops, and both back when a daemon returns on the socket.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig, type RsuConfig } from '../runtime/config/index.js';
import { startDemo, type Demo } from '../runtime/cli/demo.js';
import { demoLaneMapPath, EnuFrame, loadLaneMap } from '../runtime/map/index.js';
import { serveView } from '../runtime/view/server.js';
import { daemonInfo, type ViewSource, type ViewStatus } from '../runtime/view/source.js';

const CHROMIUM = process.env.RSU_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium; RSU_CHROMIUM names another binary)`;
const screenshot = process.env.RSU_VIEW_SCREENSHOT
  ? new URL(`../${process.env.RSU_VIEW_SCREENSHOT}`, import.meta.url).pathname
  : join(mkdtempSync(join(tmpdir(), 'rsu-view-')), 'view.png');

t.test('rsu view in headless Chromium', { skip, timeout: 120_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'rsu-view-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The demo (its signs: a speed limit 67 m north, road works 63 m south-east), with one configured RSI event 20 m
  // south-east of the crossing (road works, GB/T 29100 type 401) and a queue as the detector sends one (GB/T 29100
  // 707): its centroid, a 38 m radius around it, and the stretch of lane 31 it covers (38 m, half a lane wide).
  // Kafka on a port where nothing listens: the outage the view must show (issue 16 point 2), alarmed after 3 s.
  const demo = await startDemo({
    socketPath: join(dir, 'rsu.sock'),
    kafka: '127.0.0.1:1',
    configure: (cfg) => {
      cfg.uplink.alarms = { ...cfg.uplink.alarms, linkDownS: 3 };
      const enu = new EnuFrame(cfg.rsu.reference);
      const g = (x: number, y: number) => {
        const q = enu.toGeo(x, y, 0);
        return { lat: q.lat, lon: q.lon };
      };
      cfg.applications.rsi.events = [
        { id: 7, type: 401, description: 'road works', ...g(24, -26), radiusM: 6, priority: 3 },
        { id: 9, type: 707, description: 'queue of 38 m (6 vehicles) on approach 3', ...g(1.6, -33.5), radiusM: 38, priority: 4, referencePaths: [{ points: [g(1.6, -52.5), g(1.6, -14.5)], radiusM: 1.625 }] },
      ];
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
  // Without the token: 403, and no page. In a page of its own, closed after: Chromium then asks for the refused
  // page's /favicon.ico, which is refused too, and that 403 must not land in the console of the page checked below.
  const probe = await browser.newPage();
  const bare = await probe.goto(view.url.replace(/\?token=.*$/, ''));
  t.equal(bare?.status(), 403, 'the page without the token: 403');
  const wrong = await probe.goto(view.url.replace(/token=.*$/, 'token=guess'));
  t.equal(wrong?.status(), 403, 'a wrong token: 403');
  const sse = await probe.request.get(view.url.replace('/?', '/events?').replace(/token=.*$/, ''));
  t.equal(sse.status(), 403, 'the stream without the token: 403');
  const rebound = await probe.request.get(view.url, { headers: { host: `rsu.evil.example:${view.port}` } });
  t.equal(rebound.status(), 403, 'a foreign Host header, even with the token: 403');
  await probe.close();
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

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
  const labels = await page.$$eval('#overlay text.tlabel', (ts) => ts.map((x) => x.textContent));
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

  // Issue 16, the view. A legend that names what the map draws.
  t.ok(await page.locator('#legend').isVisible(), 'a legend on the map');
  const legend = (await page.locator('#legend').textContent()) ?? '';
  for (const w of ['signal head', 'seconds left', 'pedestrian signal', 'road users', 'RSI event', 'queue', 'RSI signs', 'stop line', 'crosswalk']) t.match(legend, w, `the legend names: ${w}`);

  // At the default zoom, the signs and events are in view (not off-screen, not under the legend or the HUD).
  await page.waitForSelector('g.rsi-event.sign[data-id="1"]');
  await page.waitForSelector('g.rsi-event.sign[data-id="2"]');
  const inView = await page.evaluate(() => {
    const r = (id: string) => document.getElementById(id)!.getBoundingClientRect();
    const map = r('map'), legend = r('legend'), hud = r('hud');
    const hits = (a: DOMRect, b: DOMRect) => a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
    return [...document.querySelectorAll('g.rsi-event')].map((g) => {
      const b = g.getBoundingClientRect();
      return { id: `${g.classList.contains('sign') ? 'sign' : 'event'} ${g.getAttribute('data-id')}`, inside: b.left >= map.left && b.right <= map.right && b.top >= map.top && b.bottom <= map.bottom, covered: hits(b, legend) || hits(b, hud) };
    });
  });
  t.equal(inView.length, 4, 'two signs and two events drawn');
  for (const e of inView) t.ok(e.inside && !e.covered, `${e.id} in view at the default zoom (${JSON.stringify(e)})`);

  // "speed limit 50 km/h" once: one label on the map, saying it once; one entry in the panel, saying it once.
  const limitTexts = await page.$$eval('#overlay text', (ts) => ts.map((x) => x.textContent ?? '').filter((x) => x.includes('speed limit 50 km/h')));
  t.equal(limitTexts.length, 1, `one speed-limit label on the map: ${JSON.stringify(limitTexts)}`);
  t.equal(limitTexts[0]!.split('speed limit 50 km/h').length - 1, 1, 'saying it once');
  t.equal(await page.locator('g.rsi-event.sign[data-id="1"] text.sign-value').textContent(), '50', 'the sign shows its limit');
  const panelLimit = ((await page.locator('#events').textContent()) ?? '').split('speed limit 50 km/h').length - 1;
  t.equal(panelLimit, 1, 'once in the panel');

  // The queue: along its lane, as wide as the lane, not a 38 m disc.
  const q = await page.evaluate(() => {
    const k = (document.getElementById('map') as unknown as SVGSVGElement).getScreenCTM()!.a; // px per metre
    const path = document.querySelector('.rsi-path[data-id="9"]');
    const b = path?.getBoundingClientRect(); // the centreline's box: the stroke is the band's width
    return { k, w: path ? Number(path.getAttribute('stroke-width')) * k : undefined, h: b?.height, radiusDrawn: !!document.querySelector('.rsi-area[data-id="9"] .rsi-radius') };
  });
  t.ok(q.w !== undefined, 'the queue drawn along its reference path');
  t.ok(q.w! <= 1.5 * 3.25 * q.k + 2 && q.w! >= 0.5 * 3.25 * q.k, `as wide as its lane: ${q.w!.toFixed(1)} px for 3.25 m at ${q.k.toFixed(2)} px/m`);
  t.ok(Math.abs(q.h! - 38 * q.k) <= 0.1 * 38 * q.k + 2, `as long as the queue: ${q.h!.toFixed(1)} px for 38 m`);
  t.notOk(q.radiusDrawn, 'no disc of its 38 m radius');

  // Labels keep their size at every zoom and overlap neither the countdowns nor each other: default, in, out.
  const labelCheck = () =>
    page.evaluate(() => {
      const shown = [...document.querySelectorAll('#overlay text')].filter((x) => x.getAttribute('visibility') !== 'hidden' && (x.textContent ?? '') !== '' && !x.closest('[visibility="hidden"]'));
      const boxes = shown.map((x) => ({ text: x.textContent, countdown: x.classList.contains('countdown'), b: x.getBoundingClientRect() }));
      const clashes: string[] = [];
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!.b, c = boxes[j]!.b;
          if (a.left < c.right - 0.5 && a.right > c.left + 0.5 && a.top < c.bottom - 0.5 && a.bottom > c.top + 0.5) clashes.push(`${boxes[i]!.text} / ${boxes[j]!.text}`);
        }
      const sg = document.querySelector('g.signal-head.vehicle text.sg-label')!.getBoundingClientRect().height;
      const countdowns = boxes.filter((x) => x.countdown).length;
      return { clashes, labels: boxes.length - countdowns, countdowns, sgLabelPx: sg, scale: document.getElementById('scale')!.textContent };
    });
  const atDefault = await labelCheck();
  t.same(atDefault.clashes, [], `default zoom (${atDefault.scale}): ${atDefault.countdowns} countdowns, ${atDefault.labels} labels, none overlapping`);
  t.ok(atDefault.countdowns >= 4, 'every vehicle signal head shows its countdown');
  const box = (await page.locator('#map').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -250);
  await page.waitForTimeout(700);
  const zoomedIn = await labelCheck();
  t.not(zoomedIn.scale, atDefault.scale, `zoomed in: ${zoomedIn.scale}`);
  t.same(zoomedIn.clashes, [], `zoomed in: ${zoomedIn.countdowns} countdowns, ${zoomedIn.labels} labels, none overlapping`);
  t.ok(Math.abs(zoomedIn.sgLabelPx - atDefault.sgLabelPx) < 1, `labels keep their size: ${atDefault.sgLabelPx.toFixed(1)} px, zoomed in ${zoomedIn.sgLabelPx.toFixed(1)} px`);
  for (let i = 0; i < 8; i++) await page.mouse.wheel(0, 250);
  await page.waitForTimeout(700);
  const zoomedOut = await labelCheck();
  t.same(zoomedOut.clashes, [], `zoomed out (${zoomedOut.scale}): ${zoomedOut.countdowns} countdowns, ${zoomedOut.labels} labels, none overlapping`);
  t.ok(Math.abs(zoomedOut.sgLabelPx - atDefault.sgLabelPx) < 1, 'the same size zoomed out');
  await page.click('#fit');
  await page.waitForTimeout(300);
  t.equal((await labelCheck()).scale, atDefault.scale, '"fit" returns to the default view');

  // The health panels: the demo's camera_north (every detection dropped above the horizon) unhealthy; the uplink's
  // link, the time source; signing with the demo's certificate.
  await page.waitForSelector('#sensors tr[data-sensor="camera_north"][data-state="unhealthy"]', { timeout: 20_000 });
  t.match(await page.locator('#sensors').textContent(), /camera_north unhealthy.*100 %.*above_horizon/, 'camera_north unhealthy, with why');
  t.ok(await page.locator('#sensors tr[data-sensor="lidar_north"][data-state="ok"]').count(), 'lidar_north healthy');
  t.equal(await page.locator('#uplink tr[data-link="mqtt"][data-connected="true"]').count(), 1, 'the MQTT link: connected');
  const kafka = page.locator('#uplink tr[data-link="kafka"][data-connected="false"]');
  t.equal(await kafka.count(), 1, 'the Kafka link: not connected');
  const [backlog, oldest] = await kafka.locator('td.num').allTextContents();
  t.ok(Number(backlog) > 0, `its backlog: ${backlog} records`);
  t.match(oldest, /^\d+ s$/, `its oldest undelivered: ${oldest}`);
  t.match(await page.locator('#alarms').textContent(), /uplink kafka down for \d+ s: \d+ record\(s\) waiting/, 'and the alarm');
  t.match(await page.locator('#time').textContent(), /system clock · no GNSS time source: offset not measured/, 'the time source');
  // the demo signs with its throwaway certificate (status.security)
  t.equal(await page.locator('#signing-panel').isVisible(), true, 'the signing panel: the daemon reports signing');
  t.match(await page.locator('#signing').textContent(), /signing: signed.*certificate [0-9a-f]{16}: usable, expires in \d+ days/, 'signed, with the certificate and its days to expiry');
  t.same(problems, [], 'no script errors, no CSP violations');
});

const ROOT = new URL('..', import.meta.url).pathname;
const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The demo's configuration with an RSI event 20 m south-east of the crossing and the RSU id `id`. */
const fieldConfig = (id: string) => (cfg: RsuConfig) => {
  cfg.rsu.id = id;
  const g = new EnuFrame(cfg.rsu.reference).toGeo(24, -26, 0);
  cfg.applications.rsi.events = [{ id: 7, type: 401, description: 'road works', lat: g.lat, lon: g.lon, radiusM: 6, priority: 3 }];
};

t.test('rsu view attached to a running daemon, in headless Chromium: live, disconnected, back', { skip, timeout: 180_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'rsu-view-attach-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'rsu.sock');

  // The daemon, on its own status socket: the demo (simulated sensors feeding the real ingest).
  let daemon: Demo | undefined = await startDemo({ socketPath: socket, configure: fieldConfig('FIELD-1') });
  t.teardown(() => daemon?.stop());

  // The view: `rsu view --socket` as a field engineer runs it, in a process of its own.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'runtime/cli/main.ts'), 'view', '--socket', socket, '--rate', '5'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  t.teardown(() => (child.exitCode === null ? child.kill('SIGKILL') : undefined));
  const waitFor = async (what: string, re: RegExp, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!re.test(what === 'stdout' ? out : err)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`rsu view: no ${re} on ${what} (exit ${child.exitCode}):\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return (what === 'stdout' ? out : err).match(re)!;
  };
  const url = (await waitFor('stdout', /rsu view: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/))[1]!;
  t.match(err, new RegExp(`attaching to the rsu daemon on ${socket} \\(--socket\\)\\n.*attached: RSU FIELD-1, csae2020, pid ${process.pid}`), 'it says what it attaches to');
  const urlFile = join(dir, 'view.url');
  t.equal(readFileSync(urlFile, 'utf8').trim(), url, 'the URL file beside the status socket');
  t.equal(statSync(urlFile).mode & 0o777, 0o600);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  t.equal((await page.request.get(url.replace(/token=.*$/, 'token=guess'))).status(), 403, 'the attached view wants its token too');
  // From here on (until the view is stopped), no script error and no console error.
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  t.equal((await page.goto(url))?.status(), 200);

  // The daemon's map, live signals with countdowns, road users with ids and classes, its RSI event, its rates.
  await page.waitForSelector('g.lane.vehicle');
  t.equal(await page.locator('g.lane.vehicle').count(), 14, "the daemon's lane map");
  t.equal(await page.locator('g.signal-head.vehicle').count(), 4);
  await page.waitForSelector('body[data-daemon="connected"]');
  t.equal(await page.locator('#conn').textContent(), '● live (attached)');
  t.match(await page.locator('#source').textContent(), `attached to ${socket} (daemon pid ${process.pid})`);
  t.equal(await page.locator('#title').textContent(), 'RSU FIELD-1');
  const lit = async () => {
    await page.waitForSelector('g.signal-head.vehicle[data-colour="green"], g.signal-head.vehicle[data-colour="yellow"]', { timeout: 15_000 });
    await page.waitForSelector('g.signal-head.vehicle[data-colour="red"]', { timeout: 15_000 });
    return page.locator('g.signal-head.vehicle text.countdown').first().textContent();
  };
  t.match(await lit(), /^\d+(\.\d)?$/, 'signal heads lit by the SPaT, with a countdown');
  await page.waitForFunction(() => document.querySelectorAll('g.track').length >= 3, undefined, { timeout: 30_000 });
  const tracks = await page.$$eval('g.track', (gs) => gs.map((g) => ({ id: g.getAttribute('data-id'), cls: g.getAttribute('data-cls') })));
  t.ok(tracks.every((x) => /^\d+$/.test(x.id ?? '') && x.cls && x.cls !== 'unknown'), `${tracks.length} road users, each with an id and a class`);
  await page.waitForSelector('g.rsi-event[data-id="7"][data-type="401"]', { timeout: 10_000 });
  t.pass('the RSI event is drawn');
  await page.waitForFunction(() => Number(document.querySelector('#rates tr[data-type="spat"] td:nth-child(2)')?.textContent) >= 8, undefined, { timeout: 15_000 });
  t.pass('SPAT at its rate in the panel');
  t.equal(await page.locator('#offline').isVisible(), false, 'no disconnected banner');

  // The daemon stops: the page shows it disconnected and empty; the command says so.
  await daemon.stop();
  daemon = undefined;
  await page.waitForSelector('body[data-daemon="disconnected"]', { timeout: 5000 });
  t.equal(await page.locator('#conn').textContent(), '● daemon disconnected');
  t.ok(await page.locator('#offline').isVisible(), 'a disconnected banner over the map');
  t.match(await page.locator('#offline').textContent(), /daemon disconnected.*(closed the connection|socket does not exist).*reattaches when the daemon is back/);
  t.match(await page.locator('#alarms .link-down').textContent(), `not connected to the rsu daemon on ${socket}`);
  await page.waitForFunction(() => document.querySelectorAll('g.track').length === 0 && document.querySelectorAll('g.rsi-event').length === 0, undefined, { timeout: 5000 });
  t.equal(await page.locator('g.signal-head.vehicle[data-colour="unknown"]').count(), 4, 'every signal head dark: no SPaT from a daemon that is gone');
  t.equal(await page.locator('#rates tbody tr').count(), 0, 'no rates');
  await waitFor('stderr', /not connected to the daemon on .*rsu\.sock: the daemon closed the connection/, 5000);
  t.pass('the command says the daemon went away');

  // A daemon returns on the socket: attached again, live again.
  daemon = await startDemo({ socketPath: socket, configure: fieldConfig('FIELD-2') });
  await page.waitForSelector('body[data-daemon="connected"]', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('#title')?.textContent === 'RSU FIELD-2', undefined, { timeout: 5000 });
  t.match(await lit(), /^\d+(\.\d)?$/, 'lit again');
  await page.waitForFunction(() => document.querySelectorAll('g.track').length >= 1, undefined, { timeout: 30_000 });
  t.equal(await page.locator('g.lane.vehicle').count(), 14, 'the map drawn once more, not twice');
  t.equal(await page.locator('#offline').isVisible(), false);
  await waitFor('stderr', /attached again to the daemon on .*rsu\.sock: RSU FIELD-2/, 5000);
  t.pass('the command says it is attached again');
  t.same(problems, [], 'no script errors, no CSP violations');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'Ctrl-C / SIGTERM stops the view cleanly');
  t.match(err, /stopped \(SIGTERM\); the daemon on .*rsu\.sock was not touched/);
  t.notOk(existsSync(urlFile), 'its URL file removed');
});

t.test('the health panels in headless Chromium: signing and certificate when reported; an older daemon', { skip, timeout: 60_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const cfg = defaultConfig({ onWarning: () => {} });
  const info = daemonInfo(cfg, loadLaneMap(demoLaneMapPath()), new Date().toISOString());
  // A source whose status is what the test says: a daemon that signs (as the security work will report it), then
  // an older daemon whose status has none of the health parts.
  let status: Record<string, unknown> = {
    rsuId: 'SIGNING-1',
    messageSet: 'csae2020',
    uptimeS: 5,
    messages: { radioTxPerS: {}, radioRxPerS: {}, uplinkPerS: {} },
    alarms: [],
    recentErrors: [],
    time: { source: 'gpsd', connected: false, offsetMs: 850, fix: 'none', satellites: null, lastMessageAgeMs: 12_000, clock: { trusted: false, boundMs: 100, reason: 'offset 850 ms beyond 100 ms' } },
    sensors: { sensors: { radar_east: { kind: 'radar', frames: 0, frameRateHz: 0, lastFrameAgeMs: null } } },
    sensorHealth: { radar_east: { healthy: true, detections: 0, droppedPct: 0 } },
    security: {
      signing: true,
      certificate: { usable: false, daysToExpiry: -2, hashedId8: '0011223344556677', problems: [{ code: 'expired', message: 'the certificate expired 2 days ago' }] },
      tls: [{ uplink: 'mqtt', file: '/etc/rsu/client.pem', subject: 'CN=rsu-1', daysToExpiry: 12, problems: [{ code: 'expiring-soon', message: 'mqtt TLS client certificate expires in 12.0 days' }] }],
    },
  };
  const src: ViewSource = { info: () => info, status: () => status as unknown as ViewStatus, onTail: () => () => {}, link: () => ({ attached: false, connected: true, sinceMs: Date.now() }) };
  const view = await serveView(src, { urlFile: false, rateHz: 10 });
  t.teardown(() => view.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  t.equal((await page.goto(view.url))?.status(), 200);
  await page.waitForSelector('#signing [data-signing="on"]');
  t.match(await page.locator('#signing').textContent(), /signing: on.*certificate 0011223344556677: not usable, expired 2 days ago.*the certificate expired 2 days ago/s, 'signing and the certificate problem');
  t.match(await page.locator('#signing [data-tls="mqtt"]').textContent(), 'mqtt TLS client certificate (CN=rsu-1): expires in 12 days', 'the uplink TLS client certificate and its days to expiry');
  t.match(await page.locator('#time').textContent(), /gpsd, not connected · offset 850 ms \(bound 100 ms\).*clock not trusted: SPAT and RSM withheld/s, 'an untrusted clock');
  t.equal(await page.locator('#sensors tr[data-sensor="radar_east"][data-state="silent"]').count(), 1, 'a sensor that never sent: silent');
  t.match(await page.locator('#uplinknote').textContent(), 'no uplink configured');
  status = { ...status, security: { signing: false } };
  await page.waitForSelector('#signing [data-signing="off"]');
  t.match(await page.locator('#signing').textContent(), 'signing: off — messages go out unsigned');
  // An older daemon: the panels say what it does not report, and the signing panel goes away.
  status = { rsuId: 'OLD-1', messageSet: 'csae2020', uptimeS: 9, messages: { radioTxPerS: {}, radioRxPerS: {}, uplinkPerS: {} }, alarms: [], recentErrors: [], uplink: { submitted: 3 } };
  await page.waitForFunction(() => document.getElementById('signing-panel')!.hidden);
  t.match(await page.locator('#time').textContent(), 'not reported by this daemon');
  t.match(await page.locator('#sensornote').textContent(), 'sensor frames: not reported by this daemon');
  t.match(await page.locator('#uplinknote').textContent(), 'per-link state: not reported by this daemon');
  t.same(problems, []);
});
