/**
 * `BatonClient`: the engine with a socket, timers and a store. It connects
 * (asking the token provider each time, so an expired token is refreshed on
 * reconnect), resumes from the persisted replica, sends heartbeats,
 * reconnects with exponential backoff and full jitter (at least the server's
 * `Retry-After` / `retry_after_ms`; at once after 4009), persists after every
 * change, and emits typed events.
 */
import { Engine, type EngineEvent, type Step } from './engine.js';
import { BatonError, CLOSE_CODES } from './errors.js';
import type { ClientEvents, ClientOptions, ConnectionState } from './events.js';
import { backoffDelay, closeAction, refreshDelay, tokenExpiryMs } from './reconnect.js';
import type { StateView } from './replica.js';
import { globalConnect, type Socket } from './socket.js';
import { MemoryStore, type Store } from './store.js';
import type { Activity, HandoffResultFrame, Lease, Op, PlayState, PresenceEntry } from './wire.js';

export type { ClientEvents, ClientOptions, ConnectionState } from './events.js';

type Listener<K extends keyof ClientEvents> = (v: ClientEvents[K]) => void;

/** A connected (or reconnecting) device. */
export class BatonClient {
  private socket: Socket | undefined;
  private conn: ConnectionState = 'offline';
  private attempt = 0;
  private hintMs = 0;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private beat: ReturnType<typeof setInterval> | undefined;
  private activity: Activity | null = null;
  private listeners = new Map<string, Set<(v: never) => void>>();
  private handoffs = new Map<string, { done: (r: HandoffResultFrame) => void; fail: (e: BatonError) => void }>();
  private handoffN = 0;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private unwatch: () => void = () => undefined;
  private refreshing = false;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    readonly engine: Engine,
    private readonly opts: ClientOptions,
    private readonly store: Store,
  ) {}

  /** Loads the persisted replica (if any) and connects. */
  static async open(opts: ClientOptions): Promise<BatonClient> {
    const store = opts.store ?? new MemoryStore();
    const saved = await store.load();
    if (saved && saved.device !== opts.device) {
      throw new BatonError('protocol', 'wrong_device', `store holds device ${saved.device}, not ${opts.device}`);
    }
    const engine = saved ? Engine.restore(saved) : new Engine(opts.device);
    const c = new BatonClient(engine, opts, store);
    c.watchNetwork();
    c.connect();
    return c;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(type: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (v: never) => void);
    return () => set.delete(fn as (v: never) => void);
  }

  /** The state with this device's unacknowledged edits applied. */
  state(): StateView {
    return this.engine.view();
  }
  /** The state as the server confirmed it. */
  confirmed(): StateView {
    return this.engine.replica.view();
  }
  /** Seqs of the ops not yet acknowledged. */
  pending(): number[] {
    return this.engine.outbox.ops.map((p) => p.seq);
  }
  /** Devices with presence (from the last `presence` frame). */
  presence(): PresenceEntry[] {
    return this.engine.presence;
  }
  /** The active-player lease. */
  lease(): Lease {
    return { ...this.engine.replica.lease };
  }
  /** The connection state. */
  connection(): ConnectionState {
    return this.conn;
  }

  /** Adds `content` to the watchlist. */
  add(content: string): number {
    return this.run(this.engine.add(content));
  }
  /** Removes `content`; `undefined` if it is not in the watchlist. */
  remove(content: string): number | undefined {
    const r = this.engine.remove(content);
    return r && this.run(r);
  }
  /** Writes a playback position; `takeLease` when the user pressed play on this device. */
  playback(p: { content: string; position_ms: number; duration_ms: number; state: PlayState; takeLease?: boolean }): number {
    return this.run(this.engine.playback(p));
  }
  /** Edits the preferences document. */
  preferences(edit: (d: Record<string, unknown>) => void): number | undefined {
    const r = this.engine.preferences(edit);
    return r && this.run(r);
  }
  /** Queues an op exactly as given; returns its seq. */
  submit(op: Op): number {
    return this.run(this.engine.submit(op));
  }
  /** Asks for a full snapshot (after local data loss); `false` when not connected. */
  resync(): boolean {
    if (!this.engine.live || !this.socket) return false;
    this.socket.send(JSON.stringify({ type: 'resync' }));
    return true;
  }
  /** What this device is playing (sent in heartbeats; `null` when idle). */
  setActivity(a: Activity | null): void {
    this.activity = a;
  }

  /** Moves playback to `target`; resolves with the server's outcome (rejects if the connection ends first). */
  handoff(target: string, content: string, positionMs: number): Promise<HandoffResultFrame['outcome']> {
    if (!this.engine.live || !this.socket) {
      return Promise.reject(new BatonError('protocol', 'offline', 'a handoff needs a live connection'));
    }
    const id = `${this.opts.device}.${Date.now().toString(36)}.${++this.handoffN}`;
    this.socket.send(this.engine.handoff(id, target, content, positionMs));
    return new Promise((resolve, reject) => this.handoffs.set(id, { done: (r) => resolve(r.outcome), fail: reject }));
  }

  /** Disconnects and stays offline until `resume()` (edits keep queueing). */
  pause(): void {
    this.clearTimers();
    this.setConn('paused');
    this.socket?.close(1000, 'paused');
  }
  /** Reconnects after `pause()` or a long backoff. */
  resume(): void {
    if (this.conn === 'stopped') return;
    this.clearTimers();
    this.attempt = 0;
    if (this.conn === 'paused') this.conn = 'offline';
    if (!this.socket) this.connect();
  }
  /** Closes for good; resolves once the state is saved. */
  async close(): Promise<void> {
    this.unwatch();
    this.clearTimers();
    this.setConn('stopped');
    this.socket?.close(1000, 'closed');
    this.persist();
    await this.saving;
  }
  /** Resolves when everything saved so far is in the store. */
  flushed(): Promise<void> {
    return this.saving;
  }

  private connect(): void {
    if (this.conn === 'stopped' || this.conn === 'paused' || this.socket) return;
    this.setConn('connecting');
    const opened = Promise.resolve()
      .then(() => this.opts.token())
      .then((token) => {
        if (this.conn !== 'connecting') return;
        this.planRefresh(token);
        const connect = this.opts.connect ?? globalConnect;
        this.socket = connect(this.opts.url, token, {
          onOpen: () => {
            this.setConn('syncing');
            this.socket?.send(this.engine.hello(this.opts.hello));
          },
          onMessage: (text) => this.run(this.engine.receive(text)),
          onClose: (code, reason) => this.closed(code, reason),
          onRefused: (status, code, retryAfterMs) => {
            this.hintMs = retryAfterMs ?? 0;
            this.emit('error', new BatonError('http', code, `upgrade refused: ${status} ${code}`, { status, retryAfterMs }));
          },
        });
      });
    opened.catch((e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      this.emit('error', new BatonError('protocol', 'connect_failed', msg));
      this.socket = undefined;
      this.setConn('offline');
      this.schedule();
    });
  }

  private closed(code: number, reason: string): void {
    this.socket = undefined;
    clearTimeout(this.refreshTimer);
    this.engine.disconnected();
    if (this.beat) clearInterval(this.beat);
    this.beat = undefined;
    for (const [, h] of this.handoffs) {
      h.fail(new BatonError('closed', 'handoff_unknown', 'the connection ended before the handoff was answered'));
    }
    this.handoffs.clear();
    if (this.conn === 'paused' || this.conn === 'stopped') return;
    if (this.refreshing) {
      this.refreshing = false;
      this.setConn('offline');
      this.clearTimers();
      this.connect();
      return;
    }
    const error = new BatonError('closed', CLOSE_CODES[code] ?? 'connection_lost', `socket closed: ${code} ${reason}`, {
      closeCode: code,
    });
    const action = closeAction(code);
    if (action === 'stop') {
      this.setConn('stopped', error);
      return;
    }
    this.setConn('offline', error);
    if (action === 'now') {
      this.timer(0, () => this.connect()); // the user moved: at once, any node
      return;
    }
    this.schedule();
  }

  /** Exponential backoff with full jitter, at least the last hint. */
  private schedule(): void {
    const wait = backoffDelay(this.attempt, this.hintMs, this.opts.backoff ?? {}, this.opts.random ?? Math.random);
    this.attempt++;
    this.hintMs = 0;
    this.timer(wait, () => this.connect());
  }

  /** Reconnects with a fresh token shortly before this one's `exp`. */
  private planRefresh(token: string): void {
    const delay = refreshDelay(tokenExpiryMs(token), Date.now(), this.opts.refreshMarginMs ?? 60_000);
    if (delay === undefined) return;
    this.refreshTimer = setTimeout(() => {
      if (!this.socket) return;
      this.refreshing = true;
      this.socket.close(1000, 'token refresh');
    }, delay);
  }

  private run(r: { seq: number; step: Step }): number;
  private run(step: Step): void;
  private run(r: Step | { seq: number; step: Step }): number | void {
    const step = 'step' in r ? r.step : r;
    for (const text of step.send) this.socket?.send(text);
    for (const e of step.events) this.dispatch(e);
    if (step.events.length > 0 || step.send.length > 0) this.persist();
    return 'seq' in r ? r.seq : undefined;
  }

  private dispatch(e: EngineEvent): void {
    switch (e.type) {
      case 'welcome': {
        const secs = e.welcome.limits.heartbeat_interval_secs ?? 10;
        if (this.beat) clearInterval(this.beat);
        this.beat = setInterval(() => this.socket?.send(this.engine.heartbeat(this.activity)), secs * 1000);
        return this.emit('welcome', e.welcome);
      }
      case 'synced':
        this.attempt = 0;
        this.setConn('online');
        return this.emit('synced', { version: e.version });
      case 'state':
        return this.emit('state', this.engine.view());
      case 'retry':
        if (e.error) this.emit('error', e.error);
        this.timer(e.afterMs, () => this.run(this.engine.pump()));
        return;
      case 'error':
        if (e.error.retryAfterMs !== undefined) this.hintMs = e.error.retryAfterMs;
        return this.emit('error', e.error);
      case 'handoff_result': {
        this.handoffs.get(e.result.request_id)?.done(e.result);
        this.handoffs.delete(e.result.request_id);
        return this.emit('handoff_result', e.result);
      }
      case 'delta':
        return this.emit('delta', e.delta);
      case 'ack':
        return this.emit('ack', { seq: e.seq, version: e.version, duplicate: e.duplicate });
      case 'rejected':
        return this.emit('rejected', e.error);
      case 'lease':
        return this.emit('lease', e.lease);
      case 'playback_control':
        return this.emit('playback_control', e.control);
      case 'presence':
        return this.emit('presence', e.devices);
    }
  }

  private persist(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      this.dirty = false;
      try {
        await this.store.save(this.engine.persisted());
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.emit('error', new BatonError('protocol', 'store_failed', msg));
      }
    });
  }

  private watchNetwork(): void {
    type Target = { addEventListener?: (t: string, f: () => void) => void; removeEventListener?: (t: string, f: () => void) => void };
    const g = globalThis as Target & { navigator?: unknown };
    if (this.opts.watchNetwork === false || typeof g.addEventListener !== 'function' || !g.navigator) return;
    const online = () => this.resume();
    const offline = () => {
      if (this.conn === 'stopped' || this.conn === 'paused') return;
      this.clearTimers();
      this.socket?.close(1000, 'offline');
    };
    g.addEventListener('online', online);
    g.addEventListener('offline', offline);
    this.unwatch = () => {
      g.removeEventListener?.('online', online);
      g.removeEventListener?.('offline', offline);
    };
  }

  private setConn(state: ConnectionState, error?: BatonError): void {
    this.conn = state;
    this.emit('connection', error ? { state, error } : { state });
  }

  private timer(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    clearTimeout(this.refreshTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private emit<K extends keyof ClientEvents>(type: K, value: ClientEvents[K]): void {
    for (const fn of this.listeners.get(type) ?? []) (fn as Listener<K>)(value);
  }
}
