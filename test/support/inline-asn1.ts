// Compile a small ASN.1 module written inside a test into a message set, through the same path as deployer modules.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCached } from '../../codecs/index.js';
import { BitReader, BitWriter, DecodeError, EncodeError, toHex, fromHex } from '../../codecs/per/runtime.js';

export interface InlineSet {
  enc(type: string, value: unknown): string;
  dec(type: string, hex: string): unknown;
}

const cache = mkdtempSync(join(tmpdir(), 'rsu-inline-'));

export async function compileInline(text: string): Promise<InlineSet> {
  const dir = mkdtempSync(join(tmpdir(), 'rsu-asn1-'));
  writeFileSync(join(dir, 'Test.asn'), text);
  const mod = await compileCached('inline', dir, cache);
  const get = (t: string) => {
    const c = mod.codecs[t];
    if (!c) throw new Error(`no type ${t}`);
    return c;
  };
  return {
    enc(type, value) {
      const w = new BitWriter(16);
      try {
        get(type)[0](w, value);
      } catch (e) {
        if (e instanceof EncodeError) throw e.finish(type);
        throw e;
      }
      return toHex(w.finish());
    },
    dec(type, hex) {
      try {
        return get(type)[1](new BitReader(fromHex(hex)));
      } catch (e) {
        if (e instanceof DecodeError) throw e.finish(type);
        throw e;
      }
    },
  };
}
