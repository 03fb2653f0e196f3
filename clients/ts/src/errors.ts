/**
 * Typed errors: every refusal, close code and HTTP answer of the server
 * (PROTOCOL.md §1, §6, §7) becomes a `BatonError` that says what happened,
 * whether it was a server limit, and whether the client retries.
 */
import type { Op } from './wire.js';

/** Where an error came from. */
export type ErrorKind =
  /** An `error` frame (an op or frame refused). */
  | 'refused'
  /** The socket closed with a code. */
  | 'closed'
  /** The upgrade was refused with an HTTP status. */
  | 'http'
  /** A server frame the client could not use. */
  | 'protocol';

/** Error codes that are the server's bounded-resource limits (PROTOCOL.md §8). */
export const LIMIT_CODES: ReadonlySet<string> = new Set([
  'rate_limited',
  'too_many_inflight',
  'too_big',
  'too_large',
  'field_too_long',
  'too_many_devices',
  'overloaded',
  'too_many_connections',
]);

/** Refusals after which the same op is sent again (after `retry_after_ms`). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['rate_limited', 'too_many_inflight', 'unavailable']);

/** Close codes and their error codes (PROTOCOL.md §7). */
export const CLOSE_CODES: Readonly<Record<number, string>> = {
  1000: 'normal',
  1001: 'going_away',
  1008: 'token_ended',
  1009: 'too_big',
  1011: 'actor_restarted',
  1012: 'draining',
  1013: 'overloaded',
  4000: 'protocol_violation',
  4001: 'replaced',
  4002: 'heartbeat_timeout',
  4008: 'slow_consumer',
  4009: 'moved',
  4029: 'rate_limited',
};

/** A refusal, close or failure, with everything the server said. */
export class BatonError extends Error {
  /** The server's code (`lease_held`, `rate_limited`, `expired`, ...) or the close code's name. */
  readonly code: string;
  readonly kind: ErrorKind;
  /** The refused op's seq (refusals of ops). */
  readonly seq?: number;
  /** The refused op itself, when it was dropped or will be resent. */
  readonly op?: Op;
  /** The server's retry hint. */
  readonly retryAfterMs?: number;
  /** The WebSocket close code (`kind: 'closed'`). */
  readonly closeCode?: number;
  /** The HTTP status (`kind: 'http'`). */
  readonly status?: number;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    extra: { seq?: number; op?: Op; retryAfterMs?: number; closeCode?: number; status?: number } = {},
  ) {
    super(message);
    this.name = 'BatonError';
    this.kind = kind;
    this.code = code;
    Object.assign(this, extra);
  }

  /** True for the server's bounded-resource limits (rate, in-flight, size, devices, load). */
  get isLimit(): boolean {
    return LIMIT_CODES.has(this.code) || this.closeCode === 4029 || this.closeCode === 4008 || this.closeCode === 1009;
  }

  /** True if the client retries on its own (the op stays queued, or it reconnects). */
  get retryable(): boolean {
    if (this.kind === 'closed') return this.closeCode !== 4001 && this.closeCode !== 4000;
    if (this.kind === 'http') return this.status === 503 || this.status === 401;
    return RETRYABLE_CODES.has(this.code);
  }
}
