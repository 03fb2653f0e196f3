/**
 * The client's public types: connection states, events and options.
 */
import type { BatonError } from './errors.js';
import type { Backoff } from './reconnect.js';
import type { StateView } from './replica.js';
import type { Connect } from './socket.js';
import type { Store } from './store.js';
import type {
  DeltaFrame,
  DeviceHello,
  HandoffResultFrame,
  Lease,
  PlaybackControlFrame,
  PresenceEntry,
  WelcomeFrame,
} from './wire.js';

/** Connection states. */
export type ConnectionState = 'connecting' | 'syncing' | 'online' | 'offline' | 'paused' | 'stopped';

/** Events and their payloads. */
export interface ClientEvents {
  /** The (optimistic) state changed. */
  state: StateView;
  /** A delta of the log was applied. */
  delta: DeltaFrame;
  /** An own op was acknowledged (durable). */
  ack: { seq: number; version: number; duplicate: boolean };
  /** The server answered `hello` (`resume`: deltas or snapshot). */
  welcome: WelcomeFrame;
  /** Catch-up finished. */
  synced: { version: number };
  /** The active-player lease moved. */
  lease: Lease;
  /** A handoff made this device the player: start `content` at `position_ms`. */
  playback_control: PlaybackControlFrame;
  /** A handoff this device sent was answered. */
  handoff_result: HandoffResultFrame;
  /** Devices and their presence. */
  presence: PresenceEntry[];
  /** Connection state changed (`error` says why, when it was not asked for). */
  connection: { state: ConnectionState; error?: BatonError };
  /** An own op was refused and dropped (its optimistic effect is undone). */
  rejected: BatonError;
  /** Anything else the server refused, or a limit the client will wait out. */
  error: BatonError;
}

/** Options of `BatonClient.open`. */
export interface ClientOptions {
  /** `ws(s)://host:port/v1/sync`. */
  url: string;
  /** This device's id (the token's `device` claim). */
  device: string;
  /** Sent in `hello`. */
  hello: DeviceHello;
  /** Returns a valid token; called before every connection attempt. */
  token: () => string | Promise<string>;
  /** Where the replica and outbox live (default: memory). */
  store?: Store;
  /** Socket factory (default: the global WebSocket). */
  connect?: Connect;
  /** Backoff: `[0, min(maxMs, baseMs * 2^attempt)]` (defaults 500 ms, 30 s). */
  backoff?: Backoff;
  /** Random source in [0, 1) (tests seed it). */
  random?: () => number;
  /** Reconnect with a fresh token this long before the token's `exp` (default 60 s). */
  refreshMarginMs?: number;
  /** Follow the browser's online/offline events (default: when available). */
  watchNetwork?: boolean;
}
