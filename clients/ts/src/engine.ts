/**
 * The sync engine of one device, sans I/O: the core's frame handling plus the
 * app's edits (each returns its seq and the frames to send) and the persisted
 * form. `client.ts` is its shell; the conformance vectors drive it directly.
 */
import { EngineCore, type Step } from './core.js';
import { Replica } from './replica.js';
import { changePrefs, applyPrefs } from './prefs.js';
import type { Activity, Op, PlayState, Snapshot } from './wire.js';

export type { EngineEvent, Step } from './core.js';

/** What a device persists to resume after a restart (JSON-safe). */
export interface Persisted {
  format: 1;
  device: string;
  replica: Snapshot;
  pending: { seq: number; op: Op }[];
  base: number;
  hlcLast: string;
}

/** The engine of one device. */
export class Engine extends EngineCore {
  /** Restores a persisted engine (`p.device` must be `device`). */
  static restore(p: Persisted, now: () => number = Date.now): Engine {
    if (p.format !== 1) throw new RangeError(`persisted state format ${String(p.format)} is not 1`);
    const e = new Engine(p.device, now);
    e.replica = Replica.fromSnapshot(p.replica);
    e.outbox.base = p.base;
    for (const q of p.pending) e.outbox.ops.push({ seq: q.seq, op: q.op, sent: false });
    e.clock.restore(BigInt(p.hlcLast));
    e.rebuildPrefs();
    return e;
  }

  /** The persisted form. */
  persisted(): Persisted {
    return {
      format: 1,
      device: this.device,
      replica: this.replica.toSnapshot(),
      pending: this.outbox.ops.map((p) => ({ seq: p.seq, op: p.op })),
      base: this.outbox.base,
      hlcLast: this.clock.lastTime().toString(),
    };
  }

  /** Queues an op exactly as given (the app's edit helpers build them). Returns its seq. */
  submit(op: Op): { seq: number; step: Step } {
    if (op.kind === 'preferences') this.prefsLocal = applyPrefs(this.prefsLocal, op.changes);
    const seq = this.outbox.push(op);
    this.changed();
    this.fill();
    return { seq, step: this.flush() };
  }

  /** Adds `content` to the watchlist (superseding the dots this replica holds for it). */
  add(content: string, addedAtMs: number = this.now()): { seq: number; step: Step } {
    const observed = this.overlay().dotsOf(content);
    const op: Op = { kind: 'watchlist_add', content, added_at_ms: addedAtMs };
    if (observed.length > 0) op.observed = observed;
    return this.submit(op);
  }

  /** Removes `content` (the dots this replica holds); `undefined` if it is not in the watchlist. */
  remove(content: string): { seq: number; step: Step } | undefined {
    const observed = this.overlay().dotsOf(content);
    if (observed.length === 0) return undefined;
    return this.submit({ kind: 'watchlist_remove', content, observed });
  }

  /** A playback position; `takeLease` when the user pressed play here. */
  playback(p: { content: string; position_ms: number; duration_ms: number; state: PlayState; takeLease?: boolean }): {
    seq: number;
    step: Step;
  } {
    const lease = this.replica.lease;
    const op: Op = {
      kind: 'playback',
      content: p.content,
      position_ms: Math.floor(p.position_ms),
      duration_ms: Math.floor(p.duration_ms),
      state: p.state,
      ts: this.clock.next(),
    };
    if (lease.holder === this.device && lease.token > 0) op.lease = lease.token;
    if (p.takeLease) op.take_lease = true;
    return this.submit(op);
  }

  /** Edits the preferences document; `undefined` if the edit changed nothing. */
  preferences(edit: (d: Record<string, unknown>) => void): { seq: number; step: Step } | undefined {
    const { doc, change } = changePrefs(this.prefsLocal, edit);
    this.prefsLocal = doc;
    if (!change) return undefined;
    const seq = this.outbox.push({ kind: 'preferences', changes: [change] });
    this.changed();
    this.fill();
    return { seq, step: this.flush() };
  }

  /** A `heartbeat` frame. */
  heartbeat(activity: Activity | null): string {
    return JSON.stringify({ type: 'heartbeat', activity });
  }

  /** A `handoff` frame. */
  handoff(requestId: string, target: string, content: string, positionMs: number): string {
    return JSON.stringify({ type: 'handoff', request_id: requestId, target, content, position_ms: Math.floor(positionMs) });
  }
}
