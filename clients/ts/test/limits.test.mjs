// The server's bounded-resource limits against a real node: the client never
// trips them in normal use (in-flight window, frame size) and surfaces them
// as typed errors (rate_limited, field_too_long, too_many_devices, too_big,
// refused upgrades), losing nothing it may resend; and a node's SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node, until } from './harness.mjs';
import { device, idle, online } from './clients.mjs';

test('server limits surface as typed errors; queued ops wait them out and apply once', async (t) => {
  const node = await new Node({
    BATON_LIMITS__RATE_LIMIT_EVENTS: '5',
    BATON_LIMITS__RATE_LIMIT_WINDOW_SECS: '1',
    BATON_LIMITS__MAX_INFLIGHT_OPS: '3',
  }).start();
  t.after(() => node.stop());
  const tv = await device(node, 'frank', 'tv');
  await online(tv);
  for (let i = 0; i < 12; i++) tv.add(`movie:${i}`);
  await idle(tv);
  const limited = tv.errors.filter((e) => e.code === 'rate_limited');
  assert.ok(limited.length >= 1, 'rate_limited was surfaced');
  assert.ok(limited.every((e) => e.isLimit && e.retryable && e.retryAfterMs > 0 && e.kind === 'refused'));
  assert.deepEqual(tv.errors.filter((e) => e.code === 'too_many_inflight' || e.code === 'seq_gap'), []);
  const server = JSON.parse(await node.stateText('frank'));
  assert.equal(server.vv.tv, 12);
  assert.equal(server.watchlist.length, 12);
  await tv.close();

  // A hello over the name limit: field_too_long, close 4000, the client stops.
  const long = await device(node, 'frank', 'tablet', { name: 'x'.repeat(65) });
  await until(() => long.connection() === 'stopped', 'stopped after 4000');
  const e = long.errors.find((x) => x.code === 'field_too_long');
  assert.ok(e && e.isLimit && !e.retryable, 'field_too_long is a typed, non-retryable limit');
  await long.close();
});

test('a refused upgrade is a typed http error; the provider is asked again on the next attempt', async (t) => {
  const node = await new Node().start();
  t.after(() => node.stop());
  let calls = 0;
  const tv = await device(node, 'hank', 'tv', { token: () => (++calls < 3 ? 'not-a-token' : node.token('hank', 'tv')) });
  await online(tv);
  const refused = tv.errors.filter((e) => e.kind === 'http');
  assert.equal(refused.length, 2);
  assert.ok(refused.every((e) => e.status === 401 && e.code === 'malformed_token' && e.retryable));
  await tv.close();
});

test('too_many_devices closes with 4000 and stops; an op frame over max_message_bytes is refused locally as too_big', async (t) => {
  const node = await new Node({ BATON_LIMITS__MAX_DEVICES_PER_USER: '1' }).start();
  t.after(() => node.stop());
  const tv = await device(node, 'ivan', 'tv');
  await online(tv);
  const extra = await device(node, 'ivan', 'phone');
  await until(() => extra.connection() === 'stopped', 'second device stopped');
  const e = extra.errors.find((x) => x.code === 'too_many_devices');
  assert.ok(e && e.isLimit && !e.retryable);
  await extra.close();

  const closes = [];
  tv.on('connection', (c) => c.error && closes.push(c.error.closeCode));
  tv.preferences((d) => {
    d.blob = 'x'.repeat(70_000);
  });
  tv.add('movie:after-big');
  await idle(tv);
  assert.equal(tv.rejections.length, 1);
  assert.equal(tv.rejections[0].code, 'too_big');
  assert.ok(tv.rejections[0].isLimit);
  assert.deepEqual(closes, [], 'never sent, so no 1009');
  assert.deepEqual(tv.state().preferences, {}, 'the refused edit is undone locally');
  const server = JSON.parse(await node.stateText('ivan'));
  assert.deepEqual(server.watchlist.map((w) => w.content), ['movie:after-big']);
  assert.equal(server.vv.tv, 1, 'the next op took the refused one\'s seq');
  await tv.close();
});

test('SIGTERM of the node: the device sees 1001, keeps its edits and resumes on the restarted node', async (t) => {
  const node = await new Node().start();
  t.after(() => node.stop());
  const tv = await device(node, 'judy', 'tv');
  await online(tv);
  tv.add('movie:before');
  await idle(tv);
  const closes = [];
  tv.on('connection', (c) => c.error && closes.push(c.error.closeCode));
  await node.stop();
  await until(() => closes.length > 0, 'close seen');
  assert.equal(closes[0], 1001, 'node shutting down');
  tv.add('movie:while-down');
  await node.start();
  await idle(tv);
  const server = JSON.parse(await node.stateText('judy'));
  assert.deepEqual(server.watchlist.map((w) => w.content), ['movie:before', 'movie:while-down']);
  await tv.close();
});
