// The embedded MQTT broker (aedes) of the demo: listens on this machine only, in memory, so the uplink has a broker
// to publish to and local tools a place to subscribe. It takes only the credentials made for this run (random,
// written to a file only its user can read): another local user can neither read the uplink nor send downlinks.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, openSync, closeSync, unlinkSync, writeSync, lstatSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface BrokerCredentials {
  username: string;
  password: string;
}

export interface EmbeddedBroker {
  /** mqtt://HOST:PORT, without credentials. */
  url: string;
  port: number;
  /** What a client must present; made for this run unless given. */
  credentials: BrokerCredentials;
  /** The owner-only file holding url and credentials (JSON), when one was asked for. */
  credentialsFile?: string;
  /** Connection attempts refused for bad or missing credentials. */
  refused(): number;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host?: string;
  port?: number;
  /** Default: username `rsu`, a random 192-bit password. */
  credentials?: BrokerCredentials;
  /**
   * Write `{"url", "username", "password"}` to this file, mode 0600 (a file already there is replaced, a symlink
   * is not followed), for local tools: `mosquitto_sub -u rsu -P "$(jq -r .password FILE)" ...`.
   */
  credentialsFile?: string;
}

/** Per-run credentials: a fixed user name and a random password. */
export function makeCredentials(): BrokerCredentials {
  return { username: 'rsu', password: randomBytes(24).toString('base64url') };
}

/** Write `text` to a new file readable by its owner only (an existing file or symlink there is removed first). */
export function writeOwnerOnly(file: string, text: string): void {
  try {
    if (lstatSync(file, { throwIfNoEntry: false })) unlinkSync(file);
  } catch {
    /* the exclusive open below reports what is wrong */
  }
  const fd = openSync(file, 'wx', 0o600); // O_CREAT|O_EXCL: never through a symlink planted there
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600); // whatever the umask
}

const same = (a: string, b: Buffer | undefined): boolean => {
  if (b === undefined) return false;
  const x = Buffer.from(a);
  return x.length === b.length && timingSafeEqual(x, b);
};

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`the embedded broker listens on this machine only, not on ${host}`);
  const credentials = opts.credentials ?? makeCredentials();
  let refused = 0;
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (username === credentials.username && same(credentials.password, password)) return done(null, true);
      refused++;
      const e = Object.assign(new Error('bad user name or password'), { returnCode: 4 as const });
      done(e, false);
    },
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`the embedded MQTT broker cannot listen on ${host}:${port}: the port is in use (another broker?)`) : e),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  const url = `mqtt://${host === '::1' ? '[::1]' : host}:${bound}`;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => aedes.close(() => resolve()));
    });
  if (opts.credentialsFile) {
    try {
      writeOwnerOnly(opts.credentialsFile, JSON.stringify({ url, ...credentials }) + '\n');
    } catch (e) {
      await close();
      throw new Error(`the embedded MQTT broker's credentials file ${opts.credentialsFile}: ${(e as Error).message}`);
    }
  }
  return {
    url,
    port: bound,
    credentials,
    credentialsFile: opts.credentialsFile,
    refused: () => refused,
    close: async () => {
      await close();
      if (opts.credentialsFile) {
        try {
          unlinkSync(opts.credentialsFile);
        } catch {
          /* gone already */
        }
      }
    },
  };
}
