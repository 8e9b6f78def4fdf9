// `rsu cert`: make-test-ca, issue, show and check as a field engineer runs them (in-process, through main()).
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { main } from '../runtime/cli/main.js';
import { sm2AddonStatus } from '../runtime/security/index.js';
import { tmpDir } from './support/wait.js';


async function rsu(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdin: new PassThrough(), out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('without the 1609.2 modules: the built-in set, and a clear error for an edition that needs them', async (t) => {
  const saved = process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  delete process.env.RSU_IEEE1609DOT2_ASN1_DIR;
  t.teardown(() => {
    if (saved !== undefined) process.env.RSU_IEEE1609DOT2_ASN1_DIR = saved;
  });
  const dir = tmpDir(t, 'rsu-cli-cert-builtin-');
  const mk = await rsu('cert', 'make-test-ca', '--out', dir);
  t.equal(mk.code, 0, `make-test-ca with the built-in set: ${mk.err}`);
  t.match((await rsu('cert', 'show', path.join(dir, 'test-root.cert'))).out, /self-signed/);
  const r = await rsu('cert', 'show', '--edition', '2022', path.join(dir, 'test-root.cert'));
  t.equal(r.code, 1);
  t.match(r.err, /RSU_IEEE1609DOT2_ASN1_DIR/);
  t.equal((await rsu('cert')).code, 2, 'no subcommand: usage, exit 2');
  t.match((await rsu('cert', '--help')).out, /make-test-ca/);
});

for (const curve of ['p256', 'sm2'] as const) {
  t.test(`make-test-ca, issue, show, check (${curve})`, { skip: (curve === 'sm2' && !sm2AddonStatus().ok ? 'SM2 addon not built' : undefined) }, async (t) => {
    const dir = tmpDir(t, 'rsu-cli-cert-');
    const ca = path.join(dir, 'ca');
    const mk = await rsu('cert', 'make-test-ca', '--out', ca, '--curve', curve);
    t.equal(mk.code, 0, mk.err);
    t.match(mk.out, /THROWAWAY/);
    t.equal((await rsu('cert', 'make-test-ca', '--out', ca)).code, 2, 'an existing CA is not overwritten');
    const is = await rsu('cert', 'issue', '--ca', ca, '--out', dir, '--psid', '0x8002', '--psid', '32', '--days', '10');
    t.equal(is.code, 0, is.err);
    const show = await rsu('cert', 'show', path.join(dir, 'rsu-test.cert'));
    t.equal(show.code, 0, show.err);
    t.match(show.out, new RegExp(`algorithm   ${curve === 'sm2' ? 'SM2' : 'ECDSA P-256'}`));
    t.match(show.out, /PSIDs       130, 32/, 'p-encoded 0x8002 is PSID 130');
    t.match(show.out, /(9|10) days left/);
    const json = JSON.parse((await rsu('cert', 'show', '--json', path.join(dir, 'rsu-test.cert'))).out) as { toBeSigned: { appPermissions: unknown[] } };
    t.equal(json.toBeSigned.appPermissions.length, 2, '--json: the JER value');
    const args = ['cert', 'check', '--cert', path.join(dir, 'rsu-test.cert'), '--key', path.join(dir, 'rsu-test.key.pem'), '--anchor', path.join(ca, 'test-root.cert')];
    const ok = await rsu(...args, '--psid', '0x8002');
    t.equal(ok.code, 0, 'usable: exit 0, with the 30-day warning for a 10-day certificate');
    t.match(ok.out, /warning: expiring-soon/);
    t.match(ok.out, /usable for signing/);
    const missing = await rsu(...args, '--psid', '0x8003');
    t.match(missing.out, /problem: psid-not-permitted: .*131/);
    t.equal(missing.code, 1);
    const wrongKey = await rsu('cert', 'check', '--cert', path.join(dir, 'rsu-test.cert'), '--key', path.join(ca, 'test-root.key.pem'), '--anchor', path.join(ca, 'test-root.cert'));
    t.match(wrongKey.out, /problem: key-mismatch/);
    fs.writeFileSync(path.join(dir, 'bad.cert'), 'nope');
    const bad = await rsu('cert', 'show', path.join(dir, 'bad.cert'));
    t.equal(bad.code, 1);
    t.match(bad.err, /Certificate/);
  });
}
