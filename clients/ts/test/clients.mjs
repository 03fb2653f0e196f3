// Helpers to open real clients against a test node.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatonClient, MemoryStore, stateJson } from '../dist/index.js';
import { FileStore, wsConnect } from '../dist/node.js';
import { until } from './harness.mjs';

/** Opens a device of `user` on `node` (token minted per connection; `tokens` counts them). */
export async function device(node, user, id, opts = {}) {
  const counter = { tokens: 0 };
  const c = await BatonClient.open({
    url: opts.url ?? node.url,
    device: id,
    hello: { kind: opts.kind ?? 'other', name: opts.name ?? id, capabilities: ['playback'] },
    token: () => {
      counter.tokens++;
      return opts.token ? opts.token() : node.token(user, id);
    },
    store: opts.store ?? new MemoryStore(),
    connect: opts.connect ?? wsConnect,
    backoff: opts.backoff ?? { baseMs: 50, maxMs: 500 },
    random: opts.random,
    refreshMarginMs: opts.refreshMarginMs,
  });
  c.counter = counter;
  c.errors = [];
  c.on('error', (e) => c.errors.push(e));
  c.rejections = [];
  c.on('rejected', (e) => c.rejections.push(e));
  return c;
}

export function fileStore() {
  return new FileStore(join(mkdtempSync(join(tmpdir(), 'baton-ts-store-')), 'replica.json'));
}

export const online = (c) => until(() => c.connection() === 'online', `${c.engine.device} online`);
export const idle = (c) => until(() => c.connection() === 'online' && c.pending().length === 0, `${c.engine.device} idle`);

/** The confirmed replica without the version (devices registering move the server's version). */
export function content(view) {
  const { version: _v, ...rest } = JSON.parse(stateJson(view));
  return JSON.stringify(rest);
}
