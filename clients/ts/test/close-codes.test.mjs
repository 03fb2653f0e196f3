// Close codes 4009, 1011, 1001 and 4008 against a real node, through a relay
// that forwards every frame both ways and, on command, loses frames or closes
// the device's side with a given code (the node itself cannot be made to send
// 4009 without a cluster, nor 1011/4008 on demand). The client must reconnect
// (at once for 4009, with jittered backoff for the others), resume, resend
// its unacknowledged ops, and apply each exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { Node, freePort, replicaPart, until } from './harness.mjs';
import { content, device, idle, online } from './clients.mjs';

class Relay {
  constructor(target) {
    this.target = target;
    this.pairs = new Set();
    this.dropUp = false; // lose device -> node frames
    this.dropDown = false; // lose node -> device frames
    this.connections = 0;
    this.dropped = 0;
  }
  async start() {
    this.port = await freePort();
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: this.port });
    this.wss.on('connection', (down, req) => {
      this.connections++;
      const up = new WebSocket(this.target, { headers: { authorization: req.headers.authorization } });
      const queue = [];
      const pair = { down, up };
      this.pairs.add(pair);
      up.on('open', () => queue.splice(0).forEach((m) => up.send(m)));
      down.on('message', (m) => {
        if (this.dropUp) {
          this.dropped++;
          return;
        }
        if (up.readyState === WebSocket.OPEN) up.send(m.toString());
        else queue.push(m.toString());
      });
      up.on('message', (m) => {
        if (!this.dropDown && down.readyState === WebSocket.OPEN) down.send(m.toString());
      });
      const end = () => {
        this.pairs.delete(pair);
        if (up.readyState <= 1) up.close();
        if (down.readyState <= 1) down.close();
      };
      down.on('close', end);
      up.on('close', end);
      down.on('error', end);
      up.on('error', end);
    });
    return this;
  }
  get url() {
    return `ws://127.0.0.1:${this.port}/v1/sync`;
  }
  /** Closes every device side with `code` (the node sees the upstream close normally). */
  closeAll(code) {
    for (const { down } of this.pairs) down.close(code, 'injected');
  }
  stop() {
    for (const { down } of this.pairs) down.terminate();
    this.wss.close();
  }
}

for (const [code, backoff] of [
  [4009, false],
  [1011, true],
  [1001, true],
  [4008, true],
]) {
  test(`close ${code}: ${backoff ? 'backoff with jitter' : 'reconnect at once'}, resume, unacked ops resent and applied once`, async (t) => {
    const node = await new Node().start();
    const relay = await new Relay(node.url).start();
    t.after(async () => {
      relay.stop();
      await node.stop();
    });
    let draws = 0;
    const tv = await device(node, 'gina', 'tv', { url: relay.url, random: () => (draws++, 0.5) });
    const other = await device(node, 'gina', 'phone');
    await online(tv);
    await online(other);
    tv.add('movie:acked');
    await idle(tv);
    const drawsBefore = draws;
    // One op applied whose ack is lost on the way down, then one lost on the way up.
    relay.dropDown = true;
    tv.add('movie:lost-ack');
    await until(async () => JSON.parse(await node.stateText('gina')).watchlist.length === 2, 'node applied the op whose ack is lost');
    relay.dropUp = true;
    tv.add('movie:lost-up');
    await until(() => relay.dropped > 0, 'op lost on the way up');
    other.add('movie:while-away');
    await idle(other);
    const seen = [];
    tv.on('connection', (c) => c.error && seen.push(c.error));
    relay.closeAll(code);
    relay.dropDown = false;
    relay.dropUp = false;
    await until(() => seen.length > 0, 'close seen');
    assert.equal(seen[0].closeCode, code);
    assert.equal(seen[0].kind, 'closed');
    await idle(tv);
    assert.equal(relay.connections, 2);
    assert.equal(draws > drawsBefore, backoff, backoff ? 'jitter drawn' : 'no backoff for 4009');
    const server = JSON.parse(await node.stateText('gina'));
    assert.equal(server.vv.tv, 3, 'three ops of the tv, each applied once');
    assert.deepEqual(
      server.watchlist.map((w) => w.content),
      ['movie:acked', 'movie:lost-ack', 'movie:lost-up', 'movie:while-away'],
    );
    assert.equal(content(tv.confirmed()), content(replicaPart(JSON.stringify(server))));
    await tv.close();
    await other.close();
  });
}
