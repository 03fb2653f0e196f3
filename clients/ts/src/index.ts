/**
 * `@baton/client`: the device half of Baton's sync protocol (PROTOCOL.md) for
 * browsers and Node 20. Start with `BatonClient.open`; `Engine` is the sans-IO
 * core it runs (the conformance vectors drive it directly).
 */
export { BatonClient, type ClientEvents, type ClientOptions, type ConnectionState } from './client.js';
export { backoffDelay, closeAction, refreshDelay, tokenExpiryMs, type Backoff, type CloseAction } from './reconnect.js';
export { Engine, type EngineEvent, type Persisted, type Step } from './engine.js';
export { BatonError, CLOSE_CODES, LIMIT_CODES, RETRYABLE_CODES, type ErrorKind } from './errors.js';
export { compareHlc, formatHlc, hlcIdFor, HlcClock, msFromNtp, ntpFromMs, parseHlc, type Hlc } from './hlc.js';
export { Outbox, type Pending } from './outbox.js';
export { Replica, sortedJson, stateJson, type Overlay, type PlaybackEntry, type StateView, type WatchlistEntry } from './replica.js';
export { globalConnect, type Connect, type Socket, type SocketHandlers } from './socket.js';
export { IndexedDbStore, MemoryStore, type Store } from './store.js';
export * from './wire.js';
