// The embedded MQTT broker (aedes) of the demo and of a standalone RSU with no cloud yet: listens on this
// machine only, in memory, so the uplink has a broker to publish to and local tools a place to subscribe.
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host = '127.0.0.1', port = 0): Promise<EmbeddedBroker> {
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`the embedded broker listens on this machine only, not on ${host}`);
  const aedes = await Aedes.createBroker();
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
  return {
    url: `mqtt://${host === '::1' ? '[::1]' : host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => aedes.close(() => resolve()));
      }),
  };
}
