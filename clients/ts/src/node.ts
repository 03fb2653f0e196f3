/**
 * Node 20 pieces of `@baton/client`: a `Connect` on the `ws` package (token
 * in `Authorization: Bearer`, HTTP refusals surfaced with their status, code
 * and `Retry-After`) and `FileStore` (atomic write-then-rename).
 */
import { promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Persisted } from './engine.js';
import type { Connect } from './socket.js';
import type { Store } from './store.js';

/** Opens the socket with `ws`; the token goes in the `Authorization` header. */
export const wsConnect: Connect = (url, token, h) => {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  let closed = false;
  const closeOnce = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    h.onClose(code, reason);
  };
  ws.on('open', () => h.onOpen());
  ws.on('message', (data, isBinary) => {
    if (!isBinary) h.onMessage(data.toString());
  });
  ws.on('close', (code, reason) => closeOnce(code, reason.toString()));
  ws.on('error', () => closeOnce(1006, 'socket error'));
  ws.on('unexpected-response', (req, res: IncomingMessage) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => {
      let code = `http_${res.statusCode ?? 0}`;
      try {
        code = (JSON.parse(body) as { error: { code: string } }).error.code;
      } catch {
        // not a JSON error body: keep the status
      }
      const ra = Number(res.headers['retry-after']);
      h.onRefused?.(res.statusCode ?? 0, code, Number.isFinite(ra) ? ra * 1000 : undefined);
      req.destroy();
      closeOnce(1006, `upgrade refused: ${res.statusCode ?? 0}`);
    });
  });
  return {
    send: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close: (code, reason) => {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code ?? 1000, reason);
      closeOnce(1006, 'closed by the client');
    },
  };
};

/** Keeps the state in a JSON file, replaced atomically (write, fsync, rename). */
export class FileStore implements Store {
  constructor(private readonly path: string) {}

  async load(): Promise<Persisted | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as Persisted;
    } catch (e) {
      // Left in place (nothing is overwritten until a good state is saved).
      throw new Error(`${this.path} is not a saved Baton replica: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async save(state: Persisted): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const f = await fs.open(tmp, 'w');
    try {
      await f.writeFile(JSON.stringify(state));
      await f.sync();
    } finally {
      await f.close();
    }
    await fs.rename(tmp, this.path);
  }
}
