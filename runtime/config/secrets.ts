// Secrets in the config (broker passwords): read from where the config points, at the moment they are needed, and
// never shown. URLs are shown only redacted.

import { readFileSync } from 'node:fs';
import type { PasswordRef } from './types.js';

/** A URL as it may be shown (logs, status, view, errors): the password and secret-looking query values replaced. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL: still hide what looks like `scheme://user:password@`.
    return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
  if (u.password) u.password = '***';
  for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key|auth|signature/i.test(k)) u.searchParams.set(k, '***');
  return u.toString().replace(/%2A%2A%2A/g, '***');
}

/** The URL without its user and password, and those two (decoded), for clients that take them apart. */
export function splitUrlCredentials(url: string): { url: string; username?: string; password?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { url: u.toString(), ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

/**
 * The password a PasswordRef points to, or undefined when none is configured. `where` names the config key in
 * errors (which never contain the secret). A file's trailing newline is not part of the password.
 */
export function readPassword(ref: PasswordRef, where: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (ref.password !== undefined) return ref.password;
  if (ref.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(ref.passwordFile, 'utf8');
    } catch (e) {
      throw new Error(`${where}.passwordFile: cannot read ${ref.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return text.replace(/\r?\n$/, '');
  }
  if (ref.passwordEnv !== undefined) {
    const v = env[ref.passwordEnv];
    if (v === undefined) throw new Error(`${where}.passwordEnv: the environment variable ${ref.passwordEnv} is not set`);
    return v;
  }
  return undefined;
}
