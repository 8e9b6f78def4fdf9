// Draws a lane map as SVG, for a person to check it against an aerial view: lanes as polygons of their width,
// centrelines with the direction of travel, lane ids, maneuver arrows at the stop lines, connections as curves
// coloured by signal group, crosswalks as zebras, signal groups labelled, a north arrow and a scale bar.
// North is up; x east, y north in the lane map's ENU metres.

import { connectionCurve, endDirection, type P2 } from './geometry.js';
import type { LaneMap, Maneuver } from './types.js';

export interface RenderOptions {
  /** Width of the drawing area in pixels (default 1000). */
  widthPx?: number;
  /** Draw only what lies within this many metres of the reference point (default: the whole map). */
  extentM?: number;
  /** Draw connection curves (default true). */
  connections?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const f = (v: number) => (Math.round(v * 10) / 10).toString();

/** Colours of signal groups (cycled); unsignalised movements are grey. */
const SG_COLOURS = ['#e53e3e', '#3182ce', '#38a169', '#d69e2e', '#805ad5', '#dd6b20', '#319795', '#d53f8c'];
export const sgColour = (sg: number | undefined) => (sg === undefined ? '#a0aec0' : SG_COLOURS[(sg - 1) % SG_COLOURS.length]!);

const FILL: Record<string, string> = { vehicle: '#4a5568', bike: '#2f855a', sidewalk: '#cbd5e0', crosswalk: '#2d3748' };

/** Offsets a polyline to the left (positive d) with mitred joins (limited), for lane outlines. */
function offsetLine(pts: readonly P2[], d: number): P2[] {
  const out: P2[] = [];
  for (let i = 0; i < pts.length; i++) {
    const a = pts[Math.max(0, i - 1)]!;
    const b = pts[Math.min(pts.length - 1, i + 1)]!;
    const p = pts[i]!;
    // Normals of the segments before and after the point; at a join, the mitre direction.
    const n = (u: P2, v: P2) => {
      const l = Math.hypot(v.x - u.x, v.y - u.y) || 1;
      return { x: -(v.y - u.y) / l, y: (v.x - u.x) / l };
    };
    const n0 = i > 0 ? n(a, p) : n(p, b);
    const n1 = i < pts.length - 1 ? n(p, b) : n0;
    let mx = n0.x + n1.x;
    let my = n0.y + n1.y;
    const ml = Math.hypot(mx, my) || 1;
    mx /= ml;
    my /= ml;
    const cos = Math.max(0.35, mx * n0.x + my * n0.y);
    out.push({ x: p.x + (mx * d) / cos, y: p.y + (my * d) / cos });
  }
  return out;
}

/** A maneuver arrow glyph in a local frame (forward is -y, left is -x; units: metres), as SVG path data. */
function glyph(m: Maneuver): string {
  switch (m) {
    case 'straight':
      return 'M0 2 L0 -2 M-0.6 -1.2 L0 -2 L0.6 -1.2';
    case 'left':
      return 'M0 2 L0 0 Q0 -1 -1 -1 L-1.8 -1 M-1.2 -1.6 L-1.8 -1 L-1.2 -0.4';
    case 'right':
      return 'M0 2 L0 0 Q0 -1 1 -1 L1.8 -1 M1.2 -1.6 L1.8 -1 L1.2 -0.4';
    case 'uTurn':
      return 'M0.5 2 L0.5 -0.8 Q0.5 -1.8 -0.4 -1.8 Q-1.2 -1.8 -1.2 -0.8 L-1.2 0.8 M-1.8 0.2 L-1.2 0.8 L-0.6 0.2';
  }
}

function niceLength(m: number): number {
  const p = 10 ** Math.floor(Math.log10(m));
  for (const k of [5, 2, 1]) if (k * p <= m) return k * p;
  return p;
}

/** The lane map as a standalone SVG document. */
export function renderLaneMapSvg(map: LaneMap, opts: RenderOptions = {}): string {
  const widthPx = opts.widthPx ?? 1000;
  const pad = 40;
  const header = 56;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const l of map.lanes)
    for (const p of l.points) {
      minX = Math.min(minX, p.x - l.widthM);
      maxX = Math.max(maxX, p.x + l.widthM);
      minY = Math.min(minY, p.y - l.widthM);
      maxY = Math.max(maxY, p.y + l.widthM);
    }
  if (!Number.isFinite(minX)) [minX, minY, maxX, maxY] = [-10, -10, 10, 10];
  if (opts.extentM !== undefined) {
    const e = opts.extentM;
    [minX, minY, maxX, maxY] = [Math.max(minX, -e), Math.max(minY, -e), Math.min(maxX, e), Math.min(maxY, e)];
  }
  const spanX = Math.max(1, maxX - minX);
  const spanY = Math.max(1, maxY - minY);
  const s = (widthPx - 2 * pad) / spanX;
  const heightPx = Math.ceil(spanY * s + 2 * pad + header);
  const X = (x: number) => (x - minX) * s + pad;
  const Y = (y: number) => (maxY - y) * s + pad + header;
  const pts = (ps: readonly P2[]) => ps.map((p) => `${f(X(p.x))},${f(Y(p.y))}`).join(' ');
  const fontPx = Math.max(9, Math.min(16, 2.2 * s));

  const o: string[] = [];
  o.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="sans-serif">`);
  o.push(`<title>${esc(`MAP ${map.region}/${map.intersectionId}${map.name ? ` ${map.name}` : ''}`)}</title>`);
  o.push(
    `<defs><marker id="travel" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#f6e05e"/></marker>` +
      `<marker id="conn" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="context-stroke"/></marker></defs>`,
  );
  o.push(`<clipPath id="area"><rect x="${pad}" y="${pad + header}" width="${f(spanX * s)}" height="${f(spanY * s)}"/></clipPath>`);
  o.push(`<rect x="0" y="0" width="${widthPx}" height="${heightPx}" fill="#edf2f7"/>`);
  o.push(`<g clip-path="url(#area)">`);
  const title = `MAP intersection ${map.region}/${map.intersectionId}${map.name ? ` — ${map.name}` : ''}`;
  o.push(`<text x="${pad}" y="24" font-size="18" font-weight="bold">${esc(title)}</text>`);
  o.push(
    `<text x="${pad}" y="44" font-size="12" fill="#4a5568">${esc(`reference ${map.reference.lat.toFixed(7)}, ${map.reference.lon.toFixed(7)}, ${map.reference.elevation.toFixed(1)} m · ${map.lanes.length} lanes · north up`)}</text>`,
  );

  // Lane surfaces: sidewalks and vehicle/bike lanes first, crosswalks over them.
  const order = [...map.lanes].sort((a, b) => Number(a.kind === 'crosswalk') - Number(b.kind === 'crosswalk'));
  o.push(`<g id="lanes">`);
  for (const l of order) {
    const left = offsetLine(l.points, l.widthM / 2);
    const right = offsetLine(l.points, -l.widthM / 2).reverse();
    const fill = l.kind === 'vehicle' && l.direction === 'egress' ? '#718096' : FILL[l.kind] ?? '#4a5568';
    o.push(`<g id="lane-${l.laneId}" data-lane="${l.laneId}" data-feature="${l.featureIndex}">`);
    o.push(`<polygon points="${pts([...left, ...right])}" fill="${fill}" stroke="#1a202c" stroke-width="0.5" fill-opacity="0.9"/>`);
    if (l.kind === 'crosswalk') {
      // Zebra: white bars across the walking direction, 0.5 m each.
      o.push(`<polyline points="${pts(l.points)}" fill="none" stroke="#ffffff" stroke-width="${f(l.widthM * s * 0.9)}" stroke-dasharray="${f(0.5 * s)} ${f(0.5 * s)}"/>`);
    } else {
      o.push(
        `<polyline points="${pts(l.points)}" fill="none" stroke="#f6e05e" stroke-width="1.2" stroke-dasharray="6 4"${l.direction === 'both' ? '' : ' marker-end="url(#travel)"'}/>`,
      );
    }
    if (l.direction === 'ingress') {
      // Stop line across the lane at its intersection end.
      const end = l.points[l.points.length - 1]!;
      const u = endDirection(l.points, 'end');
      const n = { x: -u.y, y: u.x };
      const h = l.widthM / 2;
      o.push(`<line x1="${f(X(end.x + n.x * h))}" y1="${f(Y(end.y + n.y * h))}" x2="${f(X(end.x - n.x * h))}" y2="${f(Y(end.y - n.y * h))}" stroke="#ffffff" stroke-width="${f(Math.max(2, 0.4 * s))}"/>`);
    }
    o.push(`</g>`);
  }
  o.push(`</g>`);

  // Connections: from the stop line to the egress lane's start, coloured by signal group.
  if (opts.connections !== false) {
    o.push(`<g id="connections" fill="none" stroke-width="2" stroke-opacity="0.85">`);
    for (const l of map.lanes)
      for (const c of l.connectsTo) {
        const to = map.lanesById.get(c.lane);
        if (!to || to.points.length < 2 || l.points.length < 2) continue;
        const curve = connectionCurve(l.points[l.points.length - 1]!, endDirection(l.points, 'end'), to.points[0]!, endDirection(to.points, 'start'), 1);
        const colour = sgColour(c.signalGroup);
        o.push(
          `<polyline points="${pts(curve)}" stroke="${colour}" marker-end="url(#conn)" data-from="${l.laneId}" data-to="${c.lane}"${c.signalGroup !== undefined ? ` data-signal-group="${c.signalGroup}"` : ''}><title>${esc(`${l.laneId} → ${c.lane}: ${c.maneuver}${c.signalGroup !== undefined ? `, signal group ${c.signalGroup}` : ', unsignalised'}`)}</title></polyline>`,
        );
      }
    o.push(`</g>`);
  }

  // Maneuver arrows a few metres before the stop line, and signal groups at the stop line.
  o.push(`<g id="maneuvers" fill="none" stroke="#ffffff" stroke-linecap="round" stroke-linejoin="round">`);
  for (const l of map.lanes) {
    if (l.direction !== 'ingress' || !l.maneuvers.length || l.lengthM < 6) continue;
    const end = l.points[l.points.length - 1]!;
    const u = endDirection(l.points, 'end');
    const back = Math.min(6, l.lengthM / 2);
    const at = { x: end.x - u.x * back, y: end.y - u.y * back };
    // Rotation of the glyph (forward = up on screen) to the lane's direction on screen.
    const rot = (Math.atan2(u.x, u.y) * 180) / Math.PI;
    const size = Math.min(1, (l.widthM * 0.8) / 4);
    o.push(
      `<g transform="translate(${f(X(at.x))} ${f(Y(at.y))}) rotate(${f(rot)}) scale(${f(s * size)})" stroke-width="0.3" data-maneuvers="${l.maneuvers.join(' ')}">${l.maneuvers.map((m) => `<path d="${glyph(m)}"/>`).join('')}</g>`,
    );
  }
  o.push(`</g>`);

  // Labels: lane ids at the outer end (crosswalks: the middle), signal groups beside stop lines and crosswalks.
  o.push(`<g id="labels" font-size="${f(fontPx)}" text-anchor="middle" dominant-baseline="middle" stroke="#ffffff" stroke-width="3" paint-order="stroke">`);
  for (const l of map.lanes) {
    const p = l.kind === 'crosswalk' || l.kind === 'sidewalk' ? mid(l.points) : l.direction === 'egress' ? l.points[l.points.length - 1]! : l.points[0]!;
    o.push(`<text x="${f(X(p.x))}" y="${f(Y(p.y))}" font-weight="bold" fill="#1a202c" class="lane-id" data-lane="${l.laneId}">${l.laneId}</text>`);
    const groups = [...new Set([...(l.signalGroup !== undefined ? [l.signalGroup] : []), ...l.connectsTo.map((c) => c.signalGroup).filter((g): g is number => g !== undefined)])].sort((a, b) => a - b);
    if (groups.length) {
      const anchor = l.direction === 'ingress' ? l.points[l.points.length - 1]! : mid(l.points);
      const u = l.points.length > 1 ? endDirection(l.points, l.direction === 'ingress' ? 'end' : 'start') : { x: 0, y: 1 };
      const back = l.direction === 'ingress' ? Math.min(12, l.lengthM * 0.8) : 0;
      const side = l.kind === 'crosswalk' ? l.widthM * 0.9 : 0;
      const q = { x: anchor.x - u.x * back - u.y * side, y: anchor.y - u.y * back + u.x * side };
      o.push(`<text x="${f(X(q.x))}" y="${f(Y(q.y))}" font-size="${f(fontPx * 0.8)}" fill="${sgColour(groups[0])}" class="signal-group" data-lane="${l.laneId}">${esc(`SG ${groups.join('/')}`)}</text>`);
    }
  }
  o.push(`</g>`);

  o.push(`</g>`);

  // North arrow (top right) and scale bar (bottom left).
  const nx = widthPx - pad - 10;
  const ny = header + pad + 10;
  o.push(`<g id="north-arrow"><path d="M${nx} ${ny - 30} L${nx + 10} ${ny} L${nx} ${ny - 8} L${nx - 10} ${ny} z" fill="#1a202c"/><text x="${nx}" y="${ny + 16}" font-size="14" text-anchor="middle" font-weight="bold">N</text></g>`);
  const bar = niceLength(spanX / 5);
  const bx = pad;
  const by = heightPx - 18;
  o.push(
    `<g id="scale-bar"><rect x="${bx}" y="${by - 6}" width="${f(bar * s)}" height="6" fill="#1a202c"/><rect x="${bx}" y="${by - 6}" width="${f((bar * s) / 2)}" height="6" fill="#ffffff" stroke="#1a202c"/><text x="${bx}" y="${by - 10}" font-size="12">0</text><text x="${f(bx + bar * s)}" y="${by - 10}" font-size="12" text-anchor="middle">${bar} m</text></g>`,
  );

  // Legend: signal group colours.
  const groups = [...new Set(map.lanes.flatMap((l) => [l.signalGroup, ...l.connectsTo.map((c) => c.signalGroup)]).filter((g): g is number => g !== undefined))].sort((a, b) => a - b);
  o.push(`<g id="legend" font-size="12">`);
  groups.forEach((g, i) => {
    const lx = widthPx - pad - 150;
    const ly = heightPx - 18 - (groups.length - 1 - i) * 16;
    o.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${sgColour(g)}" stroke-width="3"/><text x="${lx + 30}" y="${ly}">signal group ${g}</text>`);
  });
  o.push(`</g>`);
  o.push(`</svg>`);
  return o.join('\n') + '\n';
}

function mid(p: readonly P2[]): P2 {
  if (p.length === 1) return p[0]!;
  let total = 0;
  for (let i = 1; i < p.length; i++) total += Math.hypot(p[i]!.x - p[i - 1]!.x, p[i]!.y - p[i - 1]!.y);
  let acc = 0;
  for (let i = 1; i < p.length; i++) {
    const d = Math.hypot(p[i]!.x - p[i - 1]!.x, p[i]!.y - p[i - 1]!.y);
    if (acc + d >= total / 2) {
      const t = d > 0 ? (total / 2 - acc) / d : 0;
      return { x: p[i - 1]!.x + (p[i]!.x - p[i - 1]!.x) * t, y: p[i - 1]!.y + (p[i]!.y - p[i - 1]!.y) * t };
    }
    acc += d;
  }
  return p[p.length - 1]!;
}

