// The deployment as the README installs it: the example config and its calibrations copied by the README's own
// command pass `rsu config check`; the spool sits where the systemd unit lets the daemon write and survives a
// restart; the unit passes `systemd-analyze verify` (when systemd is installed).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configCheck, formatIssue } from '../runtime/config/index.js';
import { REPO } from './support/vectors.js';
import { tmpDir } from './support/wait.js';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const UNIT_FILE = join(REPO, 'scripts', 'systemd', 'rsu.service');
const UNIT = readFileSync(UNIT_FILE, 'utf8');
const unitValues = (key: string) => [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

t.test("the README's install command gives a config that passes rsu config check", async (t) => {
  const install = README.split('\n').find((l) => /^sudo mkdir -p \/etc\/rsu && .*rsu\.yaml/.test(l));
  if (!install) return t.fail('README: no "sudo mkdir -p /etc/rsu && ... rsu.yaml" line in the install section');
  const root = tmpDir(t, 'rsu-deploy-');
  const cmd = install.replace(/#.*$/, '').replace(/\bsudo /g, '').replaceAll('/etc/rsu', `${root}/etc/rsu`);
  execFileSync('bash', ['-ec', cmd], { cwd: REPO });
  const r = configCheck(join(root, 'etc', 'rsu', 'rsu.yaml'));
  t.same(r.errors.map(formatIssue), [], 'no errors');
  t.same(r.warnings.map(formatIssue), [], 'no warnings');
  const c = r.config!;
  for (const s of c.sensors.filter((s) => s.calibration)) {
    t.ok(resolve(s.calibration!.file).startsWith(join(root, 'etc', 'rsu') + '/'), `${s.id}: calibration from the installed copy`);
  }

  // The spool of the installed config: inside a directory the unit makes writable, not under /tmp.
  const writable = [...unitValues('StateDirectory').map((d) => `/var/lib/${d}`), ...unitValues('ReadWritePaths')];
  t.ok(writable.length > 0, `writable: ${writable.join(' ')}`);
  const spool = c.uplink.spool.dir;
  t.ok(writable.some((w) => spool === w || spool.startsWith(w + '/')), `spool ${spool} in ${writable.join(' ')}`);
  t.notMatch(spool, /^\/tmp(\/|$)/);
});

t.test('the unit: spool in its state directory, a Documentation= that systemd accepts', async (t) => {
  t.same(unitValues('StateDirectory'), ['rsu']);
  t.ok(unitValues('PrivateTmp').includes('true'), 'PrivateTmp (a spool in /tmp would be wiped by a restart)');
  const docs = unitValues('Documentation');
  t.ok(docs.length > 0 && docs.every((d) => d.split(/\s+/).every((u) => /^(https?:\/\/\S+|file:\/\S+|man:\S+|info:\S+)$/.test(u))), `Documentation=${docs.join(' ')}`);

  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error) return t.skip('systemd-analyze is not installed (apt-get install systemd): unit not verified');
  const v = spawnSync('systemd-analyze', ['verify', UNIT_FILE], { encoding: 'utf8', timeout: 30_000 });
  const complaints = `${v.stdout}${v.stderr}`.split('\n').filter((l) => l.includes(UNIT_FILE) || l.includes('rsu.service'));
  // A missing /usr/bin/node says where Node is installed on this machine, not whether the unit is well formed.
  const hostSpecific = complaints.filter((l) => /is not executable|No such file or directory/.test(l));
  for (const l of hostSpecific) t.comment(`host: ${l}`);
  t.same(complaints.filter((l) => !hostSpecific.includes(l)), [], 'systemd-analyze verify: no complaints');
  t.equal(v.status, 0);
});
