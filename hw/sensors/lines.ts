// Line splitting for text streams (JSON-lines ingest, gpsd, NMEA) with a bound on line length.

/**
 * Splits a byte stream into lines (LF or CRLF). A line longer than `maxLineBytes` is discarded up to its
 * newline and counted in `oversize`.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private skipping = false;
  oversize = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.skipping) this.skipping = false;
      else if (this.partBytes + piece.length > this.maxLineBytes) this.oversize++;
      else {
        const line = (this.parts.length ? Buffer.concat([...this.parts, piece]) : piece).toString('utf8');
        const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (trimmed.trim() !== '') out.push(trimmed);
      }
      this.parts = [];
      this.partBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.partBytes + rest.length > this.maxLineBytes) {
        this.oversize++;
        this.skipping = true;
        this.parts = [];
        this.partBytes = 0;
      } else {
        this.parts.push(rest);
        this.partBytes += rest.length;
      }
    }
    return out;
  }
}
