// Issue 12 D8: a 200 MiB config/down was buffered whole (RSS 544 MB, above the unit's MemoryMax=400M) before
// being rejected. Now MQTT 5 CONNECT carries maximumPacketSize (the broker does not send it), and for MQTT 3.1.1
// (or a broker that ignores it) the packet guard drops the payload unread as it arrives and the downlink is
// answered as too large. The 200 MiB publish is streamed into a real mosquitto by a raw client here, so no
// process but the broker ever holds it.
import net from 'node:net';
import mqtt from 'mqtt';
import t from 'tap';
import { decodeDownlinkAck, encodeDownlink, Uplink } from '../../runtime/uplink/index.js';
import { Mosquitto, mosquittoMissing } from '../support/mosquitto.js';
import { tmpDir, until } from '../support/wait.js';

const MiB = 1024 * 1024;

/** MQTT 3.1.1 remaining-length bytes. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Publishes `bytes` of zeros with QoS 1 over a raw MQTT 3.1.1 connection, streamed in 1 MiB writes; resolves on PUBACK. */
async function streamPublish(port: number, topic: string, bytes: number): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
  const id = Buffer.from('raw-cloud');
  const connect = Buffer.concat([Buffer.from([0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 60, 0, id.length]), id]);
  s.write(Buffer.from([0x10, ...varint(connect.length)]));
  s.write(connect);
  const seen: Buffer[] = [];
  const got = (type: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const all = Buffer.concat(seen);
        for (let i = 0; i + 1 < all.length; i += 2 + all[i + 1]!) if (all[i]! >> 4 === type) return resolve();
      };
      s.on('data', (d) => (seen.push(d), check()));
      s.once('close', () => reject(new Error(`connection closed before packet type ${type}`)));
      check();
    });
  await got(2); // CONNACK
  const t = Buffer.from(topic);
  const head = Buffer.concat([Buffer.from([0, t.length]), t, Buffer.from([0, 1])]);
  s.write(Buffer.from([0x32, ...varint(head.length + bytes)]));
  s.write(head);
  const chunk = Buffer.alloc(MiB);
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!s.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((r) => s.once('drain', r));
  }
  await got(4); // PUBACK: the broker has it all
  s.end();
}

for (const protocolVersion of [4, 5] as const) {
  const name = protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
  t.test(`D8 ${name}: a 200 MiB config/down does not grow the daemon; the link stays up and the next downlink applies`, { timeout: 120_000 }, async (t) => {
    const missing = mosquittoMissing();
    if (missing) return t.skip(missing);
    const m = await Mosquitto.start(); // mosquitto 2.0 sets no packet size limit of its own by default
    t.teardown(() => m.stop());
    const rsuId = `BIG${protocolVersion}`;
    const applied: string[] = [];
    const up = await Uplink.open({
      rsuId,
      spool: { dir: tmpDir(t, 'rsu-big-') },
      mqtt: {
        url: m.url,
        protocolVersion,
        requireVerifiedBroker: false, // a plain test broker on loopback
        downlink: { config: { validate: () => ({ ok: true }), apply: (msg) => void applied.push(msg.msgId) } },
      },
    });
    t.teardown(() => up.close());
    const cloud = await mqtt.connectAsync(m.url, { clientId: `cloud-${rsuId}` });
    t.teardown(() => cloud.endAsync(true));
    const acks: ReturnType<typeof decodeDownlinkAck>[] = [];
    cloud.on('message', (_topic, payload) => acks.push(decodeDownlinkAck(payload)));
    await cloud.subscribeAsync(`v2x/v1/rsu/${rsuId}/ack/up`, { qos: 1 });
    await until('link up', () => up.stats().mqtt!.state === 'up', 5000);
    await new Promise((r) => setTimeout(r, 200)); // downlink subscription in place

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    t.teardown(() => clearInterval(sampler));
    const t0 = Date.now();
    await streamPublish(m.port, `v2x/v1/rsu/${rsuId}/config/down`, 200 * MiB);
    if (protocolVersion === 4) {
      await until('the oversized downlink answered', () => acks.length >= 1, 60_000);
      t.match(acks[0], { accepted: false, msgId: '', kind: 'config', reason: /downlink payload of 2097152\d\d bytes exceeds the limit of 65536/ });
      t.equal(up.stats().mqtt!.oversizedDownlinks, 1, 'dropped unread by the packet guard');
    } else {
      await new Promise((r) => setTimeout(r, 2000)); // time for mosquitto to offer it, if it would
      t.equal(up.stats().mqtt!.oversizedDownlinks, 0, 'the broker honoured maximumPacketSize: nothing oversized arrived');
    }
    // the link is healthy: a normal downlink is applied and acknowledged
    const ok = Buffer.from(encodeDownlink({ msgId: 'after-big', rsuId, issuedTimeMs: Date.now(), payload: Buffer.from('{"logging":{"level":"info"}}') }));
    await cloud.publishAsync(`v2x/v1/rsu/${rsuId}/config/down`, ok, { qos: 1 });
    await until('normal downlink applied and acknowledged', () => applied.includes('after-big') && acks.some((a) => a.msgId === 'after-big'), 20_000);
    clearInterval(sampler);
    const st = up.stats().mqtt!;
    t.equal(st.disconnects, 0, 'the connection was never dropped');
    t.match(acks.at(-1), { msgId: 'after-big', accepted: true });
    const grew = Math.max(peak, process.resourceUsage().maxRSS * 1024) - Math.max(rssBefore, peakBefore);
    // Buffering the packet whole (the defect) needs the 200 MiB payload at least (+395 MiB measured before the
    // guard); what is left is socket read buffers already dropped but not yet collected, which depends on the GC
    // (Node 20: +38-40 MiB, Node 24 on a loaded machine: +96 MiB).
    t.ok(grew < 150 * MiB, `peak RSS grew by ${(grew / MiB).toFixed(1)} MiB while 200 MiB went by (${Date.now() - t0} ms)`);
    t.comment(`${name}: RSS before ${(rssBefore / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`);
  });
}

t.test('D8: the packet guard passes packets within the limit byte for byte, however the stream is cut', async (t) => {
  const { PassThrough } = await import('node:stream');
  const { PacketSizeGuard } = await import('../../runtime/uplink/packet-guard.js');
  const mqttPacket = (await import('mqtt-packet')).default;
  const gen = (p: object, v: 4 | 5) => mqttPacket.generate(p as never, { protocolVersion: v });
  for (const v of [4, 5] as const) {
    const small = [
      gen({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false }, v),
      gen({ cmd: 'publish', topic: 'a/config/down', payload: Buffer.alloc(300, 1), qos: 1, messageId: 7, retain: false, dup: false }, v),
      gen({ cmd: 'puback', messageId: 9 }, v),
      gen({ cmd: 'publish', topic: 'a/rsi/down', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, v),
    ];
    const big = gen({ cmd: 'publish', topic: 'a/config/down', payload: Buffer.alloc(5000, 2), qos: 1, messageId: 8, retain: false, dup: false }, v);
    const wire = Buffer.concat([small[0]!, small[1]!, big, small[2]!, small[3]!]);
    for (const cut of [1, 3, 64, wire.length]) {
      const sock = new PassThrough();
      const seen: { topic: string; packetId: number; packetBytes: number; payloadBytes: number }[] = [];
      const g = new PacketSizeGuard(sock, 1024, v, (p) => seen.push(p));
      const parsed: { cmd: string; messageId?: number; payload?: Buffer; topic?: string }[] = [];
      const parser = mqttPacket.parser({ protocolVersion: v });
      parser.on('packet', (p) => parsed.push(p as never));
      g.on('data', (d: Buffer) => parser.parse(d));
      for (let i = 0; i < wire.length; i += cut) sock.write(wire.subarray(i, i + cut));
      await new Promise((r) => setImmediate(r));
      t.same(parsed.map((p) => p.cmd), ['connack', 'publish', 'publish', 'puback', 'publish'], `MQTT ${v}, cut every ${cut}: every packet, in order`);
      t.equal(parsed[1]!.payload!.length, 300, 'a packet within the limit intact');
      t.match(parsed[2], { topic: 'a/config/down', messageId: 8 }, 'the oversized PUBLISH with its topic and id...');
      t.equal(parsed[2]!.payload!.length, 0, '...and no payload');
      t.match(seen, [{ topic: 'a/config/down', packetId: 8, packetBytes: big.length }]);
      g.destroy();
    }
  }
  // any other oversized packet ends the connection
  const sock = new PassThrough();
  const g = new PacketSizeGuard(sock, 1024, 4, () => {});
  const err = new Promise<Error>((r) => g.once('error', r));
  sock.write(Buffer.from([0x90, 0xff, 0x7f])); // SUBACK of 16383 bytes
  t.match(await err, /MQTT packet of type 9 and 16386 bytes from the broker exceeds the limit of 1024/);
});
