/**
 * The engine's core, sans I/O: server frames in, frames to send and events
 * out. It owns the confirmed replica, the outbox and the optimistic
 * preferences document, reads no clock except the `now` it is given and opens
 * no socket. `engine.ts` adds the app's edits and persistence.
 */
import { BatonError, RETRYABLE_CODES } from './errors.js';
import { HlcClock, hlcIdFor } from './hlc.js';
import { Outbox, type Pending } from './outbox.js';
import { applyPrefs, clonePrefs, prefsJson, type PrefsDoc } from './prefs.js';
import { Replica, type Overlay, type StateView } from './replica.js';
import {
  opFrame,
  type DeltaFrame,
  type DeviceHello,
  type HandoffResultFrame,
  type Lease,
  type PlaybackControlFrame,
  type PresenceEntry,
  type ServerFrame,
  type Snapshot,
  type WelcomeFrame,
} from './wire.js';

/** What the engine tells its shell and the app. */
export type EngineEvent =
  | { type: 'welcome'; welcome: WelcomeFrame }
  | { type: 'synced'; version: number }
  | { type: 'state' }
  | { type: 'delta'; delta: DeltaFrame }
  | { type: 'ack'; seq: number; version: number; duplicate: boolean }
  | { type: 'rejected'; error: BatonError }
  | { type: 'retry'; afterMs: number; error?: BatonError }
  | { type: 'lease'; lease: Lease }
  | { type: 'playback_control'; control: PlaybackControlFrame }
  | { type: 'handoff_result'; result: HandoffResultFrame }
  | { type: 'presence'; devices: PresenceEntry[] }
  | { type: 'error'; error: BatonError };

/** The result of one input: frames to send, in order, and events. */
export interface Step {
  send: string[];
  events: EngineEvent[];
}

const utf8 = new TextEncoder();

type Phase = 'offline' | 'hello' | 'catchup' | 'live';

const randomActor = (): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/** Frame handling of one device's engine. */
export class EngineCore {
  replica = new Replica();
  readonly outbox: Outbox;
  readonly clock: HlcClock;
  presence: PresenceEntry[] = [];
  protected phase: Phase = 'offline';
  protected nextSeq = 1;
  protected maxInflight = 64;
  protected maxMessageBytes = 65_536;
  protected blockedUntil = 0;
  protected chunks: string[] = [];
  protected actor = randomActor();
  protected prefsLocal: PrefsDoc;
  protected cached: Overlay | undefined;
  protected step: Step = { send: [], events: [] };

  constructor(
    readonly device: string,
    protected readonly now: () => number = Date.now,
  ) {
    this.outbox = new Outbox(() => this.device);
    this.clock = new HlcClock(now);
    this.clock.setId(hlcIdFor(device));
    this.prefsLocal = clonePrefs(this.replica.prefs, this.actor);
  }

  /** True between `synced` and the end of the connection. */
  get live(): boolean {
    return this.phase === 'live';
  }

  /** The `hello` that opens a connection (resume from the replica's `vv`). */
  hello(device: DeviceHello): string {
    this.phase = 'hello';
    this.chunks = [];
    const d = { kind: device.kind, name: device.name ?? '', capabilities: device.capabilities ?? [] };
    return JSON.stringify({ type: 'hello', protocol: 1, device: d, vv: this.replica.vvObject() });
  }

  /** The connection ended: everything in flight will be resent after the next `synced`. */
  disconnected(): void {
    this.phase = 'offline';
    this.chunks = [];
    this.outbox.disconnected();
  }

  /** One server frame (its JSON text). */
  receive(text: string): Step {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      this.emit({ type: 'error', error: new BatonError('protocol', 'unparsed_frame', 'server frame is not JSON') });
      return this.flush();
    }
    try {
      this.on(frame);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'error', error: new BatonError('protocol', 'unusable_frame', `${frame.type}: ${msg}`) });
      if (this.phase === 'live') this.step.send.push(JSON.stringify({ type: 'resync' }));
    }
    return this.flush();
  }

  /** Sends what the window allows (after a retry delay, call this again). */
  pump(): Step {
    this.fillOrRetry();
    return this.flush();
  }

  /** Fills the window; inside a retry hint (a timer that fired early, a reconnect), asks for another wake-up. */
  protected fillOrRetry(): void {
    this.fill();
    const left = this.blockedUntil - this.now();
    if (left > 0 && this.phase === 'live') this.emit({ type: 'retry', afterMs: left + 1 });
  }

  /** The optimistic view (own unacknowledged ops applied), laid out like `/state`. */
  view(): StateView {
    const o = this.overlay();
    return {
      version: this.replica.version,
      vv: this.replica.vvObject(),
      watchlist: o.watchlist,
      playback: o.playback,
      preferences: prefsJson(this.prefsLocal),
      lease: { ...this.replica.lease },
    };
  }

  /** The optimistic overlay (cached until the next change). */
  overlay(): Overlay {
    this.cached ??= this.replica.overlay(this.device, this.outbox.ops);
    return this.cached;
  }

  private on(f: ServerFrame): void {
    switch (f.type) {
      case 'welcome':
        return this.onWelcome(f);
      case 'delta':
        return this.onDelta(f);
      case 'snapshot_chunk':
        this.chunks[f.index] = f.data;
        if (f.index + 1 === f.total) {
          const text = this.chunks.join('');
          this.chunks = [];
          this.adopt(JSON.parse(text) as Snapshot);
        }
        return;
      case 'synced':
        // After a `resync` (already live) the ops in flight stay in flight.
        if (this.phase !== 'live') this.outbox.resume(this.nextSeq, this.replica.vv.get(this.device) ?? 0);
        this.phase = 'live';
        this.replica.version = Math.max(this.replica.version, f.version);
        this.changed();
        this.emit({ type: 'synced', version: f.version });
        this.fillOrRetry();
        return;
      case 'ack':
        return this.onAck(f.seq, f.version, f.duplicate === true);
      case 'error':
        return this.onError(f);
      case 'lease':
        this.replica.lease = { holder: f.holder, token: f.token };
        this.changed();
        this.emit({ type: 'lease', lease: { holder: f.holder, token: f.token } });
        return;
      case 'playback_control':
        this.replica.lease = { holder: this.device, token: f.lease };
        this.changed();
        this.emit({ type: 'playback_control', control: f });
        return;
      case 'handoff_result':
        this.emit({ type: 'handoff_result', result: f });
        return;
      case 'presence':
        this.presence = f.devices;
        this.emit({ type: 'presence', devices: f.devices });
        return;
      default:
        return; // unknown server frames are ignored (PROTOCOL.md §10)
    }
  }

  private onWelcome(w: WelcomeFrame): void {
    if (w.device !== this.device) {
      throw new Error(`welcome is for device ${w.device}, this replica is ${this.device}`);
    }
    // A welcome starts a session: nothing of an earlier connection is in flight.
    this.phase = 'catchup';
    this.chunks = [];
    this.outbox.disconnected();
    this.clock.welcome(w.hlc_id, w.server_time);
    this.maxInflight = Math.max(1, w.limits.max_inflight_ops ?? 64);
    this.maxMessageBytes = w.limits.max_message_bytes ?? 65_536;
    this.nextSeq = w.next_seq;
    if (w.reset) {
      this.replica = new Replica();
      this.rebuildPrefs();
    }
    this.replica.lease = { holder: w.lease.holder, token: w.lease.token };
    this.changed();
    this.emit({ type: 'welcome', welcome: w });
  }

  private onDelta(d: DeltaFrame): void {
    if (!this.replica.apply(d.device, d.seq, d.version, d.op)) return;
    if (d.device === this.device) {
      this.outbox.applied(d.seq); // an own op whose ack was lost
      if (d.op.kind === 'preferences') this.rebuildPrefs();
    } else if (d.op.kind === 'preferences') {
      this.prefsLocal = applyPrefs(this.prefsLocal, d.op.changes);
    }
    this.changed();
    this.emit({ type: 'delta', delta: d });
  }

  private adopt(s: Snapshot): void {
    const lease = this.replica.lease;
    this.replica = Replica.fromSnapshot(s);
    if (lease.token > this.replica.lease.token) this.replica.lease = lease;
    this.outbox.covered(this.replica.vv.get(this.device) ?? 0);
    this.rebuildPrefs();
    this.changed();
  }

  private onAck(seq: number, version: number, duplicate: boolean): void {
    const i = this.outbox.indexOf(seq);
    const p = this.outbox.ops[i];
    if (!p || !p.sent) return; // an answer owed for an old number
    this.outbox.applied(seq);
    this.replica.apply(this.device, seq, version, p.op);
    this.changed();
    this.emit({ type: 'ack', seq, version, duplicate });
    this.fill();
  }

  private onError(f: Extract<ServerFrame, { type: 'error' }>): void {
    const base = { seq: f.seq, retryAfterMs: f.retry_after_ms };
    if (f.seq === undefined) {
      this.emit({ type: 'error', error: new BatonError('refused', f.code, f.message, base) });
      return;
    }
    if (this.outbox.stale.delete(f.seq)) {
      this.fill();
      return;
    }
    const p: Pending | undefined = this.outbox.ops[this.outbox.indexOf(f.seq)];
    if (!p || !p.sent) {
      this.emit({ type: 'error', error: new BatonError('refused', f.code, f.message, base) });
      return;
    }
    const error = new BatonError('refused', f.code, f.message, { ...base, op: p.op });
    if (f.code === 'seq_gap' && f.expected_seq !== undefined) {
      this.outbox.refused(f.seq, false, f.expected_seq);
    } else if (RETRYABLE_CODES.has(f.code)) {
      this.outbox.refused(f.seq, false);
      const afterMs = f.retry_after_ms ?? 1000;
      this.blockedUntil = this.now() + afterMs;
      this.emit({ type: 'retry', afterMs, error });
    } else {
      this.outbox.refused(f.seq, true);
      if (p.op.kind === 'preferences') this.rebuildPrefs();
      this.changed();
      this.emit({ type: 'rejected', error });
    }
    this.fill();
  }

  /** Sends unsent ops while the window has room, nothing stale is owed and no retry hint runs. */
  protected fill(): void {
    if (this.phase !== 'live' || this.outbox.stale.size > 0 || this.now() < this.blockedUntil) return;
    let inflight = this.outbox.inflight();
    for (let i = 0; i < this.outbox.ops.length; i++) {
      const p = this.outbox.ops[i] as Pending;
      if (inflight >= this.maxInflight) break;
      if (p.sent) continue;
      const text = opFrame(p.seq, p.op);
      const bytes = utf8.encode(text).length;
      if (bytes > this.maxMessageBytes) {
        // The server would close the socket (1009) and the resend would loop.
        this.outbox.refused(p.seq, true);
        if (p.op.kind === 'preferences') this.rebuildPrefs();
        this.changed();
        const msg = `op frame of ${bytes} bytes; at most ${this.maxMessageBytes} (welcome.limits.max_message_bytes)`;
        this.emit({ type: 'rejected', error: new BatonError('refused', 'too_big', msg, { seq: p.seq, op: p.op }) });
        i--;
        continue;
      }
      p.sent = true;
      inflight++;
      this.step.send.push(text);
    }
  }

  protected rebuildPrefs(): void {
    let doc = clonePrefs(this.replica.prefs, this.actor);
    for (const p of this.outbox.ops) {
      if (p.op.kind === 'preferences') doc = applyPrefs(doc, p.op.changes);
    }
    this.prefsLocal = doc;
  }

  protected changed(): void {
    this.cached = undefined;
    if (!this.step.events.some((e) => e.type === 'state')) this.step.events.push({ type: 'state' });
  }

  protected emit(e: EngineEvent): void {
    this.step.events.push(e);
  }

  protected flush(): Step {
    const s = this.step;
    this.step = { send: [], events: [] };
    return s;
  }
}
