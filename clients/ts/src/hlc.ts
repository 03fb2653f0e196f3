/**
 * Hybrid logical clock timestamps (PROTOCOL.md §3): `"<time>/<hlc_id>"`, `time`
 * a 64-bit NTP-style value and `hlc_id` a 128-bit hex id. Both exceed 2^53, so
 * they are BigInt here and never pass through `Number`.
 */

/** A parsed timestamp. */
export interface Hlc {
  /** Upper 32 bits: seconds since the Unix epoch; lower 32 bits: fraction. */
  readonly time: bigint;
  /** The writer's HLC id (unsigned 128-bit). */
  readonly id: bigint;
}

const U64_MAX = (1n << 64n) - 1n;
const U128_MAX = (1n << 128n) - 1n;
const TIME_RE = /^[0-9]{1,20}$/;
const ID_RE = /^[0-9a-fA-F]{1,32}$/;

/** Parses `"<time>/<hex id>"`; throws `RangeError` on anything else. */
export function parseHlc(text: string): Hlc {
  const slash = text.indexOf('/');
  const timeText = text.slice(0, slash);
  const idText = text.slice(slash + 1);
  if (slash < 0 || !TIME_RE.test(timeText) || !ID_RE.test(idText)) {
    throw new RangeError(`bad HLC timestamp ${JSON.stringify(text)}`);
  }
  const time = BigInt(timeText);
  const id = BigInt(`0x${idText}`);
  if (time > U64_MAX || id === 0n || id > U128_MAX) {
    throw new RangeError(`HLC timestamp out of range: ${JSON.stringify(text)}`);
  }
  return { time, id };
}

/** The wire text of a timestamp (lowercase hex id, no leading zero). */
export function formatHlc(h: Hlc): string {
  return `${h.time.toString(10)}/${h.id.toString(16)}`;
}

/** Orders by `time`, then by `id`, both unsigned. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

/** NTP64 time of a Unix time in milliseconds: `(ms << 32) / 1000`. */
export function ntpFromMs(ms: number): bigint {
  return (BigInt(Math.floor(ms)) << 32n) / 1000n;
}

/** Milliseconds of an NTP64 time (rounded down). */
export function msFromNtp(time: bigint): number {
  return Number((time * 1000n) >> 32n);
}

/**
 * The device's clock: monotonic timestamps with the id from `welcome.hlc_id`,
 * corrected by the offset to `welcome.server_time` so that a device clock
 * running ahead is not refused as `clock_skew`.
 */
export class HlcClock {
  private last = 0n;
  private offset = 0n;
  private id = 0n;

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** Sets the id (before any welcome: computed from the device id). */
  setId(hlcIdHex: string): void {
    this.id = BigInt(`0x${hlcIdHex}`);
  }

  /** Adopts the id and server time of a `welcome`. */
  welcome(hlcIdHex: string, serverTime: string): void {
    this.setId(hlcIdHex);
    const server = parseHlc(serverTime).time;
    const local = ntpFromMs(this.nowMs());
    // Only correct a clock that runs ahead: behind is harmless (monotonic).
    this.offset = local > server ? server - local : 0n;
  }

  /** True once a `welcome` gave the id. */
  ready(): boolean {
    return this.id !== 0n;
  }

  /** The last time issued (persisted so a restart stays monotonic). */
  lastTime(): bigint {
    return this.last;
  }

  /** Restores the last time issued. */
  restore(last: bigint): void {
    if (last > this.last) this.last = last;
  }

  /** A fresh timestamp, greater than every one issued before. */
  next(): string {
    if (this.id === 0n) throw new Error('no hlc_id yet: wait for the first welcome');
    let t = ntpFromMs(this.nowMs()) + this.offset;
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    return formatHlc({ time: t, id: this.id });
  }
}

/**
 * The HLC id the server assigns to `device` (FNV-1a 128 of its UTF-8 bytes,
 * crdt/src/hlc.rs `hlc_id_for`), as lowercase hex: lets a device that never
 * connected stamp offline edits; `welcome.hlc_id` confirms it.
 */
export function hlcIdFor(device: string): string {
  const MASK = (1n << 128n) - 1n;
  let h = 0x6c62272e07bb014262b821756295c58dn;
  for (const b of new TextEncoder().encode(device)) {
    h ^= BigInt(b);
    h = (h * 0x0000000001000000000000000000013bn) & MASK;
  }
  return (h === 0n ? 1n : h).toString(16);
}
