// What differs between two validated configs, key by key (for a reload: which changes apply live, which need a
// restart). Objects are compared key by key; arrays and values as a whole.
import { isDeepStrictEqual } from 'node:util';
import { isPlainObject } from './schema.js';

/** Dotted paths (`applications.rsi.events`, `logging.level`) of the leaves that differ. */
export function configChanges(a: unknown, b: unknown, path = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => configChanges(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return isDeepStrictEqual(a, b) ? [] : [path];
}
