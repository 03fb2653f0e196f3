// @baton/client against a real node (the workspace's debug `baton` binary on
// SQLite, started here): offline edits, kill -9 with ops in flight, snapshot
// resume, token refresh, handoff with the lease (limits: limits.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateJson } from '../dist/index.js';
import { Node, replicaPart, until } from './harness.mjs';
import { content, device, fileStore, idle, online } from './clients.mjs';

test('offline edits survive an app restart (file store) and reach the node; both devices and the server agree byte for byte', async (t) => {
  const node = await new Node().start();
  t.after(() => node.stop());
  const tv = await device(node, 'alice', 'tv');
  const store = fileStore();
  let phone = await device(node, 'alice', 'phone', { store });
  await online(tv);
  await online(phone);
  tv.add('movie:1');
  await idle(tv);
  await until(() => phone.state().watchlist.length === 1, 'phone sees movie:1');

  phone.pause();
  phone.add('movie:2');
  phone.add('movie:3');
  phone.remove('movie:1');
  phone.preferences((d) => {
    d.subtitles = 'fr';
  });
  assert.deepEqual(phone.pending(), [1, 2, 3, 4]);
  assert.deepEqual(phone.state().watchlist.map((w) => w.content), ['movie:2', 'movie:3']);
  assert.deepEqual(phone.confirmed().watchlist.map((w) => w.content), ['movie:1']);
  tv.add('movie:4'); // concurrent with the phone's offline edits
  await idle(tv);

  // The app restarts while offline: a new client from the same file resumes with the edits.
  await phone.close();
  phone = await device(node, 'alice', 'phone', { store });
  assert.deepEqual(phone.pending(), [1, 2, 3, 4]);
  await idle(phone);
  await until(() => tv.confirmed().watchlist.length === 3 && tv.confirmed().preferences.subtitles === 'fr', 'tv converges');
  const server = JSON.parse(await node.stateText('alice'));
  assert.deepEqual(server.watchlist.map((w) => w.content), ['movie:2', 'movie:3', 'movie:4']);
  assert.equal(content(phone.confirmed()), content(tv.confirmed()));
  const ref = replicaPart(await node.stateText('alice'));
  assert.equal(content(phone.confirmed()), content(ref));
  await tv.close();
  await phone.close();
});

test('kill -9 of the node with ops in flight: nothing acknowledged lost, nothing applied twice', async (t) => {
  const node = await new Node().start();
  t.after(() => node.stop());
  const phone = await device(node, 'bob', 'phone', { store: fileStore() });
  await online(phone);
  const acked = new Set();
  phone.on('ack', (a) => acked.add(a.seq));
  for (let i = 0; i < 300; i++) phone.add(`movie:${i}`);
  await until(() => acked.size >= 1, 'some acks before the kill', 20_000, 1);
  await node.kill9();
  const ackedBefore = new Set(acked);
  const contentsBefore = phone.confirmed().watchlist.map((w) => w.content);
  assert.ok(phone.pending().length > 0, 'ops still in flight at the kill');
  await node.start();
  await idle(phone);
  const server = JSON.parse(await node.stateText('bob'));
  // Every op applied exactly once: 300 seqs, 300 items.
  assert.equal(server.vv.phone, 300);
  assert.equal(server.watchlist.length, 300);
  for (const c of contentsBefore) assert.ok(server.watchlist.some((w) => w.content === c), `acked ${c} kept`);
  assert.ok(ackedBefore.size >= 1);
  assert.equal(content(phone.confirmed()), content(replicaPart(JSON.stringify(server))));
  await phone.close();
});

test('resume past the catch-up window: a snapshot, then the unacked ops re-applied and sent', async (t) => {
  const node = await new Node({ BATON_ACTORS__LOG_RETENTION_OPS: '10', BATON_ACTORS__SNAPSHOT_EVERY_OPS: '5' }).start();
  t.after(() => node.stop());
  const tv = await device(node, 'carol', 'tv');
  const phone = await device(node, 'carol', 'phone');
  await online(tv);
  await online(phone);
  phone.pause();
  phone.add('movie:phone');
  for (let i = 0; i < 30; i++) tv.add(`movie:${i}`);
  tv.remove('movie:0');
  await idle(tv);
  const welcomes = [];
  phone.on('welcome', (w) => welcomes.push(w.resume));
  phone.resume();
  await idle(phone);
  assert.deepEqual(welcomes, ['snapshot']);
  await until(() => tv.confirmed().watchlist.length === 30, 'tv sees the phone add');
  const ref = replicaPart(await node.stateText('carol'));
  assert.equal(content(phone.confirmed()), content(ref));
  assert.ok(phone.confirmed().watchlist.some((w) => w.content === 'movie:phone'));
  await tv.close();
  await phone.close();
});

test('an expired token closes the socket (1008); the provider is asked again and the device resumes', async (t) => {
  const node = await new Node({ BATON_AUTH__LEEWAY_SECS: '0' }).start();
  t.after(() => node.stop());
  const tv = await device(node, 'dave', 'tv', { token: () => node.token('dave', 'tv', '--ttl', '2s') });
  const closes = [];
  tv.on('connection', (c) => c.error && closes.push(c.error.closeCode));
  await online(tv);
  await until(() => closes.includes(1008), 'close 1008 at expiry', 15_000);
  await until(() => tv.counter.tokens >= 2 && tv.connection() === 'online', 'reconnected with a fresh token');
  tv.add('movie:after-refresh');
  await idle(tv);
  const server = JSON.parse(await node.stateText('dave'));
  assert.deepEqual(server.watchlist.map((w) => w.content), ['movie:after-refresh']);
  await tv.close();
});

test('a token is refreshed before its exp: a new token and a clean reconnect, no 1008', async (t) => {
  const node = await new Node({ BATON_AUTH__LEEWAY_SECS: '0' }).start();
  t.after(() => node.stop());
  const tv = await device(node, 'dana', 'tv', { token: () => node.token('dana', 'tv', '--ttl', '10s'), refreshMarginMs: 3000 });
  const closes = [];
  tv.on('connection', (c) => c.error && closes.push(c.error.closeCode));
  await online(tv);
  await until(() => tv.counter.tokens >= 2 && tv.connection() === 'online', 'reconnected with a fresh token', 15_000);
  tv.add('movie:fresh');
  await idle(tv);
  assert.deepEqual(closes, [], 'no close code surfaced (no 1008)');
  await tv.close();
});

test('handoff TV -> phone moves the lease; the TV is fenced off with a typed lease_held', async (t) => {
  const node = await new Node().start();
  t.after(() => node.stop());
  const tv = await device(node, 'erin', 'tv', { kind: 'tv' });
  const phone = await device(node, 'erin', 'phone', { kind: 'mobile' });
  await online(tv);
  await online(phone);
  tv.playback({ content: 'movie:42', position_ms: 600_000, duration_ms: 7_200_000, state: 'playing' });
  await idle(tv);
  await until(() => tv.lease().holder === 'tv' && phone.lease().holder === 'tv', 'tv holds the lease');
  const controls = [];
  phone.on('playback_control', (c) => controls.push(c));
  const outcome = await tv.handoff('phone', 'movie:42', 605_000);
  assert.equal(outcome, 'delivered');
  await until(() => controls.length === 1, 'phone told to play');
  assert.equal(controls[0].content, 'movie:42');
  assert.equal(controls[0].position_ms, 605_000);
  assert.equal(controls[0].from, 'tv');
  await until(() => tv.lease().holder === 'phone' && phone.lease().holder === 'phone', 'lease on the phone');
  assert.equal(phone.lease().token, 2);
  phone.playback({ content: 'movie:42', position_ms: 606_000, duration_ms: 7_200_000, state: 'playing' });
  await idle(phone);
  tv.playback({ content: 'movie:42', position_ms: 999_000, duration_ms: 7_200_000, state: 'playing' });
  tv.add('movie:7'); // sent after the refused op: renumbered, no seq_gap reaches the app
  await until(() => tv.rejections.length === 1, 'lease_held');
  assert.equal(tv.rejections[0].code, 'lease_held');
  await idle(tv);
  assert.deepEqual(tv.errors.filter((e) => e.code === 'seq_gap'), []);
  const server = JSON.parse(await node.stateText('erin'));
  assert.equal(server.playback[0].position_ms, 606_000);
  assert.equal(server.playback[0].device, 'phone');
  assert.equal(server.vv.tv, 2);
  await tv.close();
  await phone.close();
});
