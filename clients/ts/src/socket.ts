/**
 * The socket seam: the client talks to a `Socket` made by a `Connect`
 * function, so the same client runs on the browser's own WebSocket (token in
 * `?token=`, PROTOCOL.md §1) and on `ws` in Node (`@baton/client/node`, token
 * in `Authorization`, HTTP refusals with their status and `Retry-After`).
 */

/** What a socket reports. */
export interface SocketHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** The socket closed (code 1006 when it was lost without a close frame). */
  onClose(code: number, reason: string): void;
  /** The upgrade was refused with an HTTP answer (not visible to browsers). */
  onRefused?(status: number, code: string, retryAfterMs: number | undefined): void;
}

/** An open (or opening) socket. */
export interface Socket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens `url` (`ws(s)://host/v1/sync`) with `token`. */
export type Connect = (url: string, token: string, handlers: SocketHandlers) => Socket;

/** The browser's (or any global) `WebSocket`, token as `?token=`. */
export const globalConnect: Connect = (url, token, h) => {
  const Ws = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (!Ws) throw new Error('no global WebSocket: in Node use connect from @baton/client/node');
  const sep = url.includes('?') ? '&' : '?';
  const ws = new Ws(`${url}${sep}token=${encodeURIComponent(token)}`);
  let closed = false;
  const closeOnce = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    h.onClose(code, reason);
  };
  ws.onopen = () => h.onOpen();
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') h.onMessage(ev.data);
  };
  ws.onclose = (ev) => closeOnce(ev.code, ev.reason);
  ws.onerror = () => closeOnce(1006, 'socket error');
  return {
    send: (text) => {
      if (ws.readyState === 1) ws.send(text);
    },
    close: (code, reason) => {
      try {
        ws.close(code ?? 1000, reason);
      } finally {
        closeOnce(1006, 'closed by the client');
      }
    },
  };
};
