/**
 * The device's replica of the user's state, with the merge rules of
 * `baton-crdt`: an add-wins observed-remove watchlist keyed by dots
 * `[device, seq]`, one last-writer-wins playback register per content id
 * (HLC as BigInt), the preferences Automerge document, the lease, the version
 * vector and the server version. It holds what the server confirmed; the
 * device's own unacknowledged ops are laid over it by `overlay`.
 */
import { compareHlc, formatHlc, parseHlc, type Hlc } from './hlc.js';
import { cmpDot, cmpStr } from './order.js';
import { applyPrefs, emptyPrefs, loadPrefs, prefsJson, savePrefs, type PrefsDoc } from './prefs.js';
import type { Dot, Lease, Op, PlayState, Snapshot } from './wire.js';

/** One live add of an item. */
interface DotEntry {
  dot: Dot;
  added_at_ms: number;
}

/** One playback register. */
export interface PlaybackEntry {
  content: string;
  position_ms: number;
  duration_ms: number;
  state: PlayState;
  device: string;
  ts: string;
}

/** One watchlist item as shown: its latest live add. */
export interface WatchlistEntry {
  content: string;
  added_at_ms: number;
  added_from: string;
}

/** The state view, in the key order and layout of the server's `GET /v1/users/{user}/state`. */
export interface StateView {
  version: number;
  vv: Record<string, number>;
  watchlist: WatchlistEntry[];
  playback: PlaybackEntry[];
  preferences: Record<string, unknown>;
  lease: Lease;
}

interface Reg {
  value: Omit<PlaybackEntry, 'content' | 'ts'>;
  ts: Hlc;
}

const PLAY_ORDER: Record<PlayState, number> = { playing: 0, paused: 1, ended: 2 };
const key = (d: Dot): string => `${d[1]}\u0000${d[0]}`;

/** The watchlist and playback parts (what an overlay copies). */
class Lists {
  items = new Map<string, Map<string, DotEntry>>();
  index = new Map<string, string>();
  playback = new Map<string, Reg>();
  retired = new Map<string, Dot>();

  copy(): Lists {
    const l = new Lists();
    for (const [c, dots] of this.items) l.items.set(c, new Map(dots));
    l.index = new Map(this.index);
    l.playback = new Map(this.playback);
    l.retired = this.retired;
    return l;
  }

  /** The effect of one op with dot `[device, seq]` (PROTOCOL.md §3). */
  effect(device: string, seq: number, op: Op): void {
    switch (op.kind) {
      case 'watchlist_add':
        this.removeObserved(op.content, op.observed ?? []);
        this.insert(op.content, { dot: [device, seq], added_at_ms: op.added_at_ms });
        break;
      case 'watchlist_remove':
        this.removeObserved(op.content, op.observed);
        break;
      case 'playback': {
        const ts = parseHlc(op.ts);
        const value = {
          position_ms: op.position_ms,
          duration_ms: op.duration_ms,
          state: op.state,
          device,
        };
        const old = this.playback.get(op.content);
        if (!old || wins(value, ts, old)) this.playback.set(op.content, { value, ts });
        break;
      }
      case 'preferences':
        break;
    }
  }

  insert(content: string, e: DotEntry): void {
    const k = key(e.dot);
    if (this.index.has(k)) return;
    this.index.set(k, content);
    let dots = this.items.get(content);
    if (!dots) this.items.set(content, (dots = new Map()));
    dots.set(k, e);
  }

  /** Removes the observed dots that are live dots of `content` (plus their re-stamped forms). */
  private removeObserved(content: string, observed: readonly Dot[]): void {
    const all = [...observed];
    for (const d of observed) {
      const moved = this.retired.get(key(d));
      if (moved) all.push(moved);
    }
    for (const d of all) {
      const k = key(d);
      if (this.index.get(k) !== content) continue;
      this.index.delete(k);
      const dots = this.items.get(content);
      dots?.delete(k);
      if (dots && dots.size === 0) this.items.delete(content);
    }
  }

  watchlist(): WatchlistEntry[] {
    return [...this.items.keys()].sort(cmpStr).map((content) => {
      let best: DotEntry | undefined;
      for (const e of this.items.get(content)?.values() ?? []) {
        if (!best || e.added_at_ms > best.added_at_ms || (e.added_at_ms === best.added_at_ms && cmpDot(e.dot, best.dot) > 0)) {
          best = e;
        }
      }
      return { content, added_at_ms: best?.added_at_ms ?? 0, added_from: best?.dot[0] ?? '' };
    });
  }

  /** Live dots of `content`, in dot order (what a remove lists in `observed`). */
  dotsOf(content: string): Dot[] {
    return [...(this.items.get(content)?.values() ?? [])].map((e) => e.dot).sort(cmpDot);
  }

  playbackList(): PlaybackEntry[] {
    return [...this.playback.keys()].sort(cmpStr).map((content) => {
      const r = this.playback.get(content) as Reg;
      return { content, ...r.value, ts: formatHlc(r.ts) };
    });
  }
}

/** `(ts, value)` ordering of LWW registers (crdt/src/lww.rs). */
function wins(value: Reg['value'], ts: Hlc, old: Reg): boolean {
  const c = compareHlc(ts, old.ts);
  if (c !== 0) return c > 0;
  const a = value;
  const b = old.value;
  return (
    (a.position_ms - b.position_ms ||
      a.duration_ms - b.duration_ms ||
      PLAY_ORDER[a.state] - PLAY_ORDER[b.state] ||
      cmpStr(a.device, b.device)) > 0
  );
}

/** The optimistic view: confirmed state plus the device's own unacknowledged ops. */
export interface Overlay {
  watchlist: WatchlistEntry[];
  playback: PlaybackEntry[];
  dotsOf(content: string): Dot[];
  playbackOf(content: string): PlaybackEntry | undefined;
}

/** The confirmed replica. */
export class Replica {
  version = 0;
  vv = new Map<string, number>();
  lease: Lease = { holder: null, token: 0 };
  prefs: PrefsDoc = emptyPrefs();
  private lists = new Lists();

  /** True if the replica already contains op `seq` of `device`. */
  covers(device: string, seq: number): boolean {
    return seq <= (this.vv.get(device) ?? 0);
  }

  /**
   * Applies a logged op (a delta, or an own op when acknowledged) at server
   * `version`. Already-covered `(device, seq)` changes nothing and returns
   * false. Throws (leaving the replica untouched) on preferences that do not
   * apply or a malformed timestamp.
   */
  apply(device: string, seq: number, version: number, op: Op): boolean {
    if (this.covers(device, seq)) return false;
    if (op.kind === 'preferences') this.prefs = applyPrefs(this.prefs, op.changes);
    if (op.kind === 'playback') parseHlc(op.ts);
    this.lists.effect(device, seq, op);
    this.vv.set(device, seq);
    this.version = Math.max(this.version, version);
    return true;
  }

  /** Replaces everything with a format-2 snapshot (PROTOCOL.md "Adopting a snapshot"). */
  static fromSnapshot(s: Snapshot): Replica {
    if (s.format !== 2) throw new RangeError(`snapshot format ${s.format} is not 2`);
    const r = new Replica();
    r.version = s.version;
    r.vv = new Map(Object.entries(s.vv));
    for (const item of s.watchlist.items) {
      for (const d of item.dots) r.lists.insert(item.content, { dot: [d.dot[0], d.dot[1]], added_at_ms: d.added_at_ms });
    }
    for (const p of s.playback) {
      r.lists.playback.set(p.content, {
        value: { position_ms: p.position_ms, duration_ms: p.duration_ms, state: p.state, device: p.device },
        ts: parseHlc(p.ts),
      });
    }
    for (const m of s.retired_dots) r.lists.retired.set(key(m.old), [m.new[0], m.new[1]]);
    r.prefs = loadPrefs(s.prefs);
    r.lease = { holder: s.lease.holder, token: s.lease.token };
    return r;
  }

  /** This replica as a format-2 snapshot (the persisted form; `devices` left empty). */
  toSnapshot(): Snapshot {
    const vv = this.vvObject();
    return {
      format: 2,
      version: this.version,
      vv,
      watchlist: {
        items: [...this.lists.items.keys()].sort(cmpStr).map((content) => ({
          content,
          dots: [...(this.lists.items.get(content)?.values() ?? [])]
            .sort((a, b) => cmpDot(a.dot, b.dot))
            .map((e) => ({ dot: e.dot, added_at_ms: e.added_at_ms })),
        })),
        context: { vv },
      },
      playback: this.lists.playbackList(),
      prefs: savePrefs(this.prefs),
      lease: { ...this.lease },
      devices: {},
      retired_dots: [...this.lists.retired.entries()].map(([k, n]) => {
        const cut = k.indexOf('\u0000');
        return { old: [k.slice(cut + 1), Number(k.slice(0, cut))] as Dot, new: n };
      }),
    };
  }

  /** The version vector as a key-sorted object. */
  vvObject(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.vv.keys()].sort(cmpStr)) out[k] = this.vv.get(k) as number;
    return out;
  }

  /** The confirmed state, laid out like the server's `/state`. */
  view(): StateView {
    return {
      version: this.version,
      vv: this.vvObject(),
      watchlist: this.lists.watchlist(),
      playback: this.lists.playbackList(),
      preferences: prefsJson(this.prefs),
      lease: { holder: this.lease.holder, token: this.lease.token },
    };
  }

  /** The confirmed state with `pending` (own ops of `me`, in seq order) applied on top. */
  overlay(me: string, pending: readonly { seq: number; op: Op }[]): Overlay {
    const l = pending.length === 0 ? this.lists : this.lists.copy();
    for (const p of pending) l.effect(me, p.seq, p.op);
    return {
      watchlist: l.watchlist(),
      playback: l.playbackList(),
      dotsOf: (c) => l.dotsOf(c),
      playbackOf: (c) => l.playbackList().find((p) => p.content === c),
    };
  }
}

/**
 * The canonical JSON text of a state view: serde_json's compact output of the
 * server's `/state` fields (keys of `vv` and `preferences` in code-point
 * order even where JavaScript would put integer-like keys first).
 */
export function stateJson(v: StateView): string {
  return `{"version":${v.version},"vv":${sortedJson(v.vv)},"watchlist":${JSON.stringify(v.watchlist)},"playback":${JSON.stringify(
    v.playback,
  )},"preferences":${sortedJson(v.preferences)},"lease":${JSON.stringify(v.lease)}}`;
}

/** JSON text with every object's keys in code-point order. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).sort(cmpStr);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
