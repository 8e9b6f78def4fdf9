/** "1000-1011,1020" → [1000, ..., 1011, 1020]. */
export function parseSeeds(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let k = a!; k <= (b ?? a!); k++) out.push(k);
  }
  return out;
}
