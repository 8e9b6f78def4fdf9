// Precision/recall of a tracker's confidence: evaluate.py's per-threshold summary (summary_CLASS_average_eval3D.txt,
// one block per confidence threshold) as points, and an SVG of several curves.

export interface PrPoint {
  threshold: number;
  precision: number;
  recall: number;
}

/** The (threshold, precision, recall) of each block of an evaluate.py summary file. */
export function parsePrSummary(text: string): PrPoint[] {
  const out: PrPoint[] = [];
  const re = /confidence threshold (-?[0-9.]+), recall [0-9.]+=+\n\s*sMOTA.*\n\s*(.+)\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const f = m[2]!.trim().split(/\s+/).map(Number);
    // sMOTA MOTA MOTP MT ML IDS FRAG F1 Prec Recall FAR TP FP FN
    if (f.length >= 10 && Number.isFinite(f[8]) && Number.isFinite(f[9])) out.push({ threshold: Number(m[1]), precision: f[8]!, recall: f[9]! });
  }
  return out;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Precision (y) over recall (x), one polyline per named curve. */
export function renderPrSvg(title: string, curves: Array<{ name: string; points: PrPoint[] }>): string {
  const W = 420;
  const H = 320;
  const L = 50;
  const B = 40;
  const x = (r: number) => L + r * (W - L - 10);
  const y = (p: number) => H - B - p * (H - B - 30);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>`];
  for (let k = 0; k <= 10; k += 2) {
    const v = k / 10;
    parts.push(`<line x1="${x(0)}" y1="${y(v)}" x2="${x(1)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 5}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
    parts.push(`<line x1="${x(v)}" y1="${y(0)}" x2="${x(v)}" y2="${y(1)}" stroke="#ddd"/><text x="${x(v)}" y="${H - B + 15}" text-anchor="middle">${v.toFixed(1)}</text>`);
  }
  parts.push(`<text x="${(L + W) / 2}" y="${H - 8}" text-anchor="middle">recall</text><text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">precision</text>`);
  curves.forEach((c, i) => {
    const pts = [...c.points].sort((a, b) => a.recall - b.recall).map((p) => `${x(p.recall).toFixed(1)},${y(p.precision).toFixed(1)}`);
    const col = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${col}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(`<text x="${L + 10}" y="${y(0) - 10 - 14 * i}" fill="${col}">${c.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
