/**
 * The v1 wire format (PROTOCOL.md, protocol/schema/baton-v1.schema.json):
 * client and server frames as TypeScript types. Every number on the wire is an
 * integer below 2^53, so `JSON.parse` reads frames exactly; HLC timestamps
 * travel as text.
 */

/** An op's identity and OR-Set dot: `[device, seq]`. */
export type Dot = [string, number];

/** Playback state. */
export type PlayState = 'playing' | 'paused' | 'ended';

/** Add a content id to the watchlist. */
export interface WatchlistAddOp {
  kind: 'watchlist_add';
  content: string;
  added_at_ms: number;
  observed?: Dot[];
}
/** Remove the listed dots of a content id. */
export interface WatchlistRemoveOp {
  kind: 'watchlist_remove';
  content: string;
  observed: Dot[];
}
/** A playback position (last writer wins by `ts`). */
export interface PlaybackOp {
  kind: 'playback';
  content: string;
  position_ms: number;
  duration_ms: number;
  state: PlayState;
  ts: string;
  lease?: number;
  take_lease?: boolean;
}
/** Automerge change bytes (base64) for the preferences document. */
export interface PreferencesOp {
  kind: 'preferences';
  changes: string[];
}
/** Every op kind. */
export type Op = WatchlistAddOp | WatchlistRemoveOp | PlaybackOp | PreferencesOp;

/** The active-player lease. */
export interface Lease {
  holder: string | null;
  token: number;
}

/** What a device is doing (heartbeat and presence). */
export interface Activity {
  content: string;
  state: PlayState;
  position_ms: number;
}

/** One registered device with presence. */
export interface PresenceEntry {
  device: string;
  kind: string;
  name: string;
  online: boolean;
  activity: Activity | null;
  last_seen_ms: number;
}

/** `welcome`. */
export interface WelcomeFrame {
  type: 'welcome';
  protocol: number;
  session: string;
  user: string;
  device: string;
  version: number;
  vv: Record<string, number>;
  next_seq: number;
  hlc_id: string;
  server_time: string;
  resume: 'deltas' | 'snapshot';
  reset: boolean;
  lease: Lease;
  limits: Record<string, number>;
}
/** An op of a device, from the log. */
export interface DeltaFrame {
  type: 'delta';
  device: string;
  seq: number;
  version: number;
  at_ms: number;
  op: Op;
}
/** Op `seq` is durable. */
export interface AckFrame {
  type: 'ack';
  seq: number;
  version: number;
  duplicate?: boolean;
}
/** One chunk of a snapshot's JSON text. */
export interface SnapshotChunkFrame {
  type: 'snapshot_chunk';
  version: number;
  index: number;
  total: number;
  data: string;
}
/** End of catch-up. */
export interface SyncedFrame {
  type: 'synced';
  version: number;
}
/** Presence of every registered device. */
export interface PresenceFrame {
  type: 'presence';
  devices: PresenceEntry[];
}
/** The lease moved. */
export interface LeaseFrame {
  type: 'lease';
  holder: string | null;
  token: number;
}
/** A handoff made this device the player. */
export interface PlaybackControlFrame {
  type: 'playback_control';
  request_id: string;
  from: string;
  content: string;
  position_ms: number;
  lease: number;
}
/** Outcome of this device's handoff. */
export interface HandoffResultFrame {
  type: 'handoff_result';
  request_id: string;
  outcome: 'delivered' | 'target_offline' | 'unknown_device' | 'same_device';
}
/** A refusal. */
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  seq?: number;
  expected_seq?: number;
  retry_after_ms?: number;
}
/** Every server frame. */
export type ServerFrame =
  | WelcomeFrame
  | DeltaFrame
  | AckFrame
  | SnapshotChunkFrame
  | SyncedFrame
  | PresenceFrame
  | LeaseFrame
  | PlaybackControlFrame
  | HandoffResultFrame
  | ErrorFrame;

/** Device description sent in `hello`. */
export interface DeviceHello {
  kind: string;
  name?: string;
  capabilities?: string[];
}

/** The snapshot document, format 2 (PROTOCOL.md §5 "The snapshot"). */
export interface Snapshot {
  format: number;
  version: number;
  vv: Record<string, number>;
  watchlist: {
    items: { content: string; dots: { dot: Dot; added_at_ms: number }[] }[];
    context: { vv: Record<string, number>; cloud?: Dot[] };
  };
  playback: {
    content: string;
    position_ms: number;
    duration_ms: number;
    state: PlayState;
    device: string;
    ts: string;
  }[];
  prefs: string;
  lease: Lease;
  devices: Record<string, unknown>;
  retired_dots: { old: Dot; new: Dot }[];
}

/** The wire text of an op frame, fields in the server's order. */
export function opFrame(seq: number, op: Op): string {
  return JSON.stringify({ type: 'op', seq, op: canonicalOp(op) });
}

/** An op with its fields in the order and with the omissions of the server's encoder. */
export function canonicalOp(op: Op): Op {
  switch (op.kind) {
    case 'watchlist_add': {
      const out: WatchlistAddOp = { kind: op.kind, content: op.content, added_at_ms: op.added_at_ms };
      if (op.observed && op.observed.length > 0) out.observed = op.observed.map((d) => [d[0], d[1]]);
      return out;
    }
    case 'watchlist_remove':
      return { kind: op.kind, content: op.content, observed: op.observed.map((d) => [d[0], d[1]]) };
    case 'playback': {
      const out: PlaybackOp = {
        kind: op.kind,
        content: op.content,
        position_ms: op.position_ms,
        duration_ms: op.duration_ms,
        state: op.state,
        ts: op.ts,
      };
      if (op.lease !== undefined) out.lease = op.lease;
      if (op.take_lease) out.take_lease = true;
      return out;
    }
    case 'preferences':
      return { kind: op.kind, changes: [...op.changes] };
  }
}
