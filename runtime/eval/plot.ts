// SVG plot of tracks against ground truth for one scenario: x/y in metres (east, north), the lane map underneath,
// each ground-truth object's path (grey, broken where it is outside the covered area), each track's path in its
// own colour, a dot where a track starts and a cross where it ends; red dots where an object was missed, rings where
// a track matched no object.

import type { LaneMap } from '../map/types.js';
import { dropDontCare, matchFrame, type EvalFrame } from './metrics.js';

export interface PlotOptions {
  laneMap?: LaneMap;
  frames: readonly EvalFrame[];
  title?: string;
  /** Lines of text under the title (e.g. the metrics). */
  notes?: readonly string[];
  /** Frames with t in [fromT, toT] are drawn (same unit as EvalFrame.t). Default: all. */
  fromT?: number;
  toT?: number;
  /** Half-width of the square drawn around the origin, m. Default: fitted to the data, at most 80 m. */
  extentM?: number;
  /** Pixels per metre. Default 7. */
  scale?: number;
  /** Match threshold of the misses and false positives marked, m. Default 2. */
  thresholdM?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** A colour per track id, spread around the hue circle. */
function colour(id: number): string {
  const h = Math.round((id * 137.508) % 360);
  return `hsl(${h},75%,42%)`;
}

export function renderTracksSvg(o: PlotOptions): string {
  const frames = o.frames.filter((f) => (o.fromT === undefined || f.t >= o.fromT) && (o.toT === undefined || f.t <= o.toT));
  // Extent: the data (counted truth and tracks), capped.
  let ext = o.extentM;
  if (ext === undefined) {
    let m = 20;
    for (const f of frames) {
      for (const g of f.gt) if (g.counted !== false) m = Math.max(m, Math.abs(g.x), Math.abs(g.y));
      for (const h of f.tracks) m = Math.max(m, Math.abs(h.x), Math.abs(h.y));
    }
    ext = Math.min(80, Math.ceil((m + 5) / 10) * 10);
  }
  const s = o.scale ?? 7;
  const margin = 10;
  const header = 24 + 16 * (o.notes?.length ?? 0);
  const size = 2 * ext * s;
  const W = size + 2 * margin;
  const H = size + 2 * margin + header + 38;
  const X = (x: number) => f1(margin + (x + ext!) * s);
  const Y = (y: number) => f1(header + margin + (ext! - y) * s);
  const inside = (x: number, y: number) => Math.abs(x) <= ext! && Math.abs(y) <= ext!;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${margin}" y="16" font-size="14" font-weight="bold">${esc(o.title ?? 'tracks vs ground truth')}</text>`);
  (o.notes ?? []).forEach((n, i) => out.push(`<text x="${margin}" y="${34 + 16 * i}">${esc(n)}</text>`));
  out.push(`<defs><clipPath id="area"><rect x="${margin}" y="${header + margin}" width="${size}" height="${size}"/></clipPath></defs>`);
  out.push(`<rect x="${margin}" y="${header + margin}" width="${size}" height="${size}" fill="#fafafa" stroke="#999"/>`);
  out.push(`<g clip-path="url(#area)">`);
  // Grid every 10 m.
  for (let v = -ext; v <= ext; v += 10) {
    out.push(`<line x1="${X(v)}" y1="${Y(-ext)}" x2="${X(v)}" y2="${Y(ext)}" stroke="#eee"/>`);
    out.push(`<line x1="${X(-ext)}" y1="${Y(v)}" x2="${X(ext)}" y2="${Y(v)}" stroke="#eee"/>`);
  }
  // Lanes: their width, in the map's colours by kind.
  if (o.laneMap)
    for (const lane of o.laneMap.lanes) {
      const pts = lane.points.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ');
      const fill = lane.kind === 'crosswalk' ? '#e4e4f4' : lane.kind === 'sidewalk' ? '#eeeeee' : lane.kind === 'bike' ? '#e4f4e4' : '#e2e2e2';
      out.push(`<polyline points="${pts}" fill="none" stroke="${fill}" stroke-width="${f1(lane.widthM * s)}" stroke-linejoin="round"/>`);
      out.push(`<polyline points="${pts}" fill="none" stroke="#c8c8c8" stroke-width="0.6" stroke-dasharray="4 4"/>`);
    }
  // Ground truth: one path per object, broken where it does not count or jumps.
  const gtPaths = new Map<number, string[][]>();
  const gtLast = new Map<number, number>();
  frames.forEach((f, k) => {
    for (const g of f.gt) {
      if (g.counted === false || !inside(g.x, g.y)) continue;
      let paths = gtPaths.get(g.id);
      if (!paths) gtPaths.set(g.id, (paths = []));
      if (gtLast.get(g.id) !== k - 1 || paths.length === 0) paths.push([]);
      paths[paths.length - 1]!.push(`${X(g.x)},${Y(g.y)}`);
      gtLast.set(g.id, k);
    }
  });
  for (const paths of gtPaths.values())
    for (const p of paths)
      if (p.length > 1) out.push(`<polyline points="${p.join(' ')}" fill="none" stroke="#777" stroke-opacity="0.45" stroke-width="${f1(Math.max(3, 0.9 * s))}" stroke-linecap="round" stroke-linejoin="round"/>`);
      else out.push(`<circle cx="${p[0]!.split(',')[0]}" cy="${p[0]!.split(',')[1]}" r="${f1(Math.max(1.5, 0.6 * s))}" fill="#777" fill-opacity="0.45"/>`);
  // Tracks.
  const trPaths = new Map<number, Array<[number, number]>>();
  for (const f of frames)
    for (const h of f.tracks) {
      let p = trPaths.get(h.id);
      if (!p) trPaths.set(h.id, (p = []));
      p.push([h.x, h.y]);
    }
  for (const [id, p] of trPaths) {
    const c = colour(id);
    const vis = p.filter(([x, y]) => inside(x, y));
    if (vis.length === 0) continue;
    out.push(`<polyline points="${p.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="1.4" stroke-linejoin="round"><title>track ${id}</title></polyline>`);
    const [sx, sy] = p[0]!;
    const [ex, ey] = p[p.length - 1]!;
    out.push(`<circle cx="${X(sx)}" cy="${Y(sy)}" r="2.5" fill="${c}"><title>track ${id} starts</title></circle>`);
    out.push(`<path d="M${Number(X(ex)) - 3},${Number(Y(ey)) - 3}l6,6m0,-6l-6,6" stroke="${c}" stroke-width="1.4"><title>track ${id} ends</title></path>`);
  }
  // Misses (ground truth without a track within the threshold) and false positives, frame by frame.
  for (const f of dropDontCare(frames, { thresholdM: o.thresholdM ?? 2 })) {
    const m = matchFrame(f.gt, f.tracks, o.thresholdM ?? 2);
    const gOk = new Set(m.map(([i]) => i));
    const tOk = new Set(m.map(([, j]) => j));
    f.gt.forEach((g, i) => !gOk.has(i) && inside(g.x, g.y) && out.push(`<circle cx="${X(g.x)}" cy="${Y(g.y)}" r="1.6" fill="#d00"/>`));
    f.tracks.forEach((h, j) => !tOk.has(j) && inside(h.x, h.y) && out.push(`<circle cx="${X(h.x)}" cy="${Y(h.y)}" r="2.2" fill="none" stroke="#000" stroke-width="0.8"/>`));
  }
  out.push(`</g>`);
  // Axes labels and legend.
  const by = header + margin + size + 16;
  out.push(`<text x="${margin}" y="${by}">x east, y north, m (grid 10 m, area ±${ext} m); grey: ground truth where covered; colour: tracks (dot: start, cross: end)</text>`);
  out.push(`<text x="${margin}" y="${by + 16}">red dot: object missed (no track within the match distance); black ring: false positive (track matching no object)</text>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
