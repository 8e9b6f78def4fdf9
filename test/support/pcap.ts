// pcap files for tshark: each payload in an Ethernet II frame (broadcast destination, EtherType 0x88DC, which
// Wireshark hands to its WSMP dissector). Written here rather than with a tool so the test needs only tshark.
// (The classic libpcap format: a 24-octet global header, then a 16-octet record header per frame, little-endian.)

export const ETHERTYPE_WSMP = 0x88dc;

export function pcapOf(frames: readonly Uint8Array[], etherType = ETHERTYPE_WSMP): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16); // snaplen
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [global];
  frames.forEach((payload, i) => {
    const eth = Buffer.alloc(14);
    eth.fill(0xff, 0, 6);
    Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(eth, 6);
    eth.writeUInt16BE(etherType, 12);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(14 + payload.length, 8);
    rec.writeUInt32LE(14 + payload.length, 12);
    parts.push(rec, eth, Buffer.from(payload));
  });
  return Buffer.concat(parts);
}
