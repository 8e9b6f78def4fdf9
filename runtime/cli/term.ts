// Terminal output: colour only on a terminal (and never with NO_COLOR set, https://no-color.org), plain aligned
// tables, and times as ISO 8601 / 24-hour whatever the locale.

/** Colour on stdout: a terminal, and NO_COLOR unset or empty. */
export function useColor(stream: { isTTY?: boolean } = process.stdout): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR;
}

/** Local wall-clock time, 24-hour, with the UTC offset: 2026-12-06 14:01:32+01:00. */
export function clock(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '–';
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${off >= 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

export function paint(color: boolean) {
  const wrap = (code: number) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap(1), red: wrap(31), green: wrap(32), yellow: wrap(33), cyan: wrap(36), dim: wrap(2) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').replace(ANSI, '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(Math.max(0, width[i]! - c.replace(ANSI, '').length))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
