// Starts the workspace's real `baton` binary (SQLite in a temp dir, dev key),
// mints tokens with `baton token`, and reads /state: what runtime/tests/common
// does for the Rust tests.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The baton binary: $BATON_BIN, else $CARGO_TARGET_DIR/debug/baton, else target/debug/baton. */
export function binary() {
  const bin = process.env.BATON_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug', 'baton');
  if (!existsSync(bin)) {
    throw new Error(`no baton binary at ${bin}: run cargo build -p baton-runtime --bin baton (or set BATON_BIN)`);
  }
  return bin;
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns a truthy value (or throws after `ms`). */
export async function until(f, what, ms = 20_000, pollMs = 25) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** A node: `start()`, `kill9()`, `stop()` (SIGTERM), `token()`, `state()`. */
export class Node {
  constructor(env = {}) {
    this.bin = binary();
    this.data = mkdtempSync(join(tmpdir(), 'baton-ts-'));
    this.env = env;
    this.child = undefined;
  }

  cmdEnv() {
    return {
      ...process.env,
      BATON_LISTEN: `127.0.0.1:${this.port}`,
      BATON_DATA_DIR: this.data,
      BATON_LIMITS__RATE_LIMIT_EVENTS: '100000',
      BATON_LOG__FILTER: 'warn',
      BATON_DATABASE_URL: '',
      ...this.env,
    };
  }

  async start() {
    this.port ??= await freePort();
    const env = this.cmdEnv();
    if (!env.BATON_DATABASE_URL) delete env.BATON_DATABASE_URL;
    this.child = spawn(this.bin, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    this.exited = new Promise((r) => this.child.once('exit', r));
    await until(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${this.port}/health/ready`)).ok;
      } catch {
        return false;
      }
    }, `node on ${this.port} ready`, 30_000);
    return this;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/v1/sync`;
  }

  token(user, device, ...extra) {
    const env = this.cmdEnv();
    if (!env.BATON_DATABASE_URL) delete env.BATON_DATABASE_URL;
    return execFileSync(this.bin, ['token', '--user', user, '--device', device, ...extra], { env }).toString().trim();
  }

  serviceToken(user) {
    const env = this.cmdEnv();
    if (!env.BATON_DATABASE_URL) delete env.BATON_DATABASE_URL;
    return execFileSync(this.bin, ['token', '--user', user, '--service'], { env }).toString().trim();
  }

  /** GET /v1/users/{user}/state as text (the server's own serde_json output). */
  async stateText(user) {
    const tok = this.serviceToken(user);
    const r = await fetch(`http://127.0.0.1:${this.port}/v1/users/${user}/state`, { headers: { authorization: `Bearer ${tok}` } });
    if (!r.ok) throw new Error(`state: ${r.status} ${await r.text()}`);
    return r.text();
  }

  async kill9() {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** The /state fields a device replica holds, as canonical text (drops `user` and `devices`). */
export function replicaPart(stateText) {
  const s = JSON.parse(stateText);
  return { version: s.version, vv: s.vv, watchlist: s.watchlist, playback: s.playback, preferences: s.preferences, lease: s.lease };
}
