/**
 * The reconnect policy (PROTOCOL.md §7): what a close code means for the
 * device, the backoff with full jitter, and when to fetch a fresh token
 * before the current one ends (the server closes with 1008 at `exp`).
 */

/** What to do after a close. */
export type CloseAction = 'stop' | 'now' | 'backoff';

/** 4001 (replaced) and 4000 (protocol violation): stop; 4009 (moved): at once; else back off. */
export function closeAction(code: number): CloseAction {
  if (code === 4001 || code === 4000) return 'stop';
  if (code === 4009) return 'now';
  return 'backoff';
}

/** Backoff settings. */
export interface Backoff {
  /** First ceiling (default 500 ms). */
  baseMs?: number;
  /** Largest ceiling (default 30 s). */
  maxMs?: number;
}

/** A random wait in `[0, min(max, base * 2^attempt)]`, at least `hintMs`. */
export function backoffDelay(attempt: number, hintMs: number, b: Backoff, rand: () => number): number {
  const cap = Math.min(b.maxMs ?? 30_000, (b.baseMs ?? 500) * 2 ** Math.min(attempt, 30));
  return Math.max(hintMs, rand() * cap);
}

/** The `exp` of a JWT in ms since the epoch, or `undefined` when it cannot be read. */
export function tokenExpiryMs(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long until a reconnect with a fresh token, `marginMs` before `exp`;
 * `undefined` if the token has less than twice the margin left (then the
 * server's 1008 at `exp` triggers the reconnect instead).
 */
export function refreshDelay(expMs: number | undefined, nowMs: number, marginMs: number): number | undefined {
  if (expMs === undefined || expMs - nowMs < 2 * marginMs) return undefined;
  return expMs - nowMs - marginMs;
}
