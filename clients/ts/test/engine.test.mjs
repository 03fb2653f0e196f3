// The sans-IO engine on scripted server frames: renumbering after refusals,
// stale seq_gap replies, retry hints, own ops in catch-up, snapshots with
// unacked ops re-applied, HLC arithmetic above 2^53.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, compareHlc, hlcIdFor, ntpFromMs, parseHlc } from '../dist/index.js';

const ID = hlcIdFor('tv');
const welcome = (extra = {}) =>
  JSON.stringify({
    type: 'welcome', protocol: 1, session: '1', user: 'u', device: 'tv', version: 1, vv: {}, next_seq: 1,
    hlc_id: ID, server_time: `${ntpFromMs(1_764_100_000_000)}/${ID}`, resume: 'deltas', reset: false,
    lease: { holder: null, token: 0 }, limits: { max_inflight_ops: 64 }, ...extra,
  });
const live = (e, extra) => {
  e.receive(welcome(extra));
  return e.receive(JSON.stringify({ type: 'synced', version: 1 }));
};
const sent = (step) => step.send.map((t) => JSON.parse(t));
const err = (code, seq, more = {}) => JSON.stringify({ type: 'error', code, message: code, seq, ...more });
const ack = (seq, version) => JSON.stringify({ type: 'ack', seq, version });

test('HLC: 64-bit times and 128-bit ids compare as integers, never as doubles', () => {
  const a = parseHlc('7712213731150575697/40741acf20066ccca8cd574cee9fd867');
  const b = parseHlc('7712213731150575698/1');
  assert.equal(a.time, 7712213731150575697n);
  assert.equal(compareHlc(a, b), -1); // these differ by 1: equal as doubles
  assert.equal(Number(a.time) === Number(b.time), true);
  assert.equal(hlcIdFor('tv-living'), '40741acf20066ccca8cd574cee9fd867'); // PROTOCOL.md §9
  assert.equal(hlcIdFor('phone-1'), 'f6d07a5a6c4ff78df12ef89f95e9aafd');
  assert.throws(() => parseHlc('1/0'));
  assert.throws(() => parseHlc('x/1'));
  assert.throws(() => parseHlc('18446744073709551616/1'));
});

test('a refused op frees its seq: later ops are renumbered, own dots rewritten, stale seq_gaps ignored', () => {
  const e = new Engine('tv', () => 1_764_100_000_000);
  live(e);
  e.add('movie:1'); // 1
  e.playback({ content: 'movie:9', position_ms: 1, duration_ms: 2, state: 'playing' }); // 2 (will be refused)
  e.add('movie:2'); // 3
  const s = e.remove('movie:2'); // 4, observes [tv,3]
  assert.deepEqual(e.outbox.ops.map((p) => p.seq), [1, 2, 3, 4]);
  assert.deepEqual(JSON.parse(s.step.send[0]).op.observed, [['tv', 3]]);
  const refused = e.receive(err('lease_held', 2));
  assert.equal(refused.events.find((x) => x.type === 'rejected').error.code, 'lease_held');
  assert.deepEqual(refused.send, [], 'nothing resent while replies for old numbers are owed');
  assert.deepEqual(e.outbox.ops.map((p) => p.seq), [1, 2, 3]);
  assert.deepEqual(e.outbox.ops[2].op.observed, [['tv', 2]], 'the remove follows its add to seq 2');
  assert.deepEqual(e.receive(err('seq_gap', 3, { expected_seq: 2 })).events, []);
  const resent = sent(e.receive(err('seq_gap', 4, { expected_seq: 2 })));
  assert.deepEqual(resent.map((f) => f.seq), [2, 3]);
  e.receive(ack(1, 2));
  e.receive(ack(2, 3));
  e.receive(ack(3, 4));
  assert.deepEqual(e.replica.view().watchlist.map((w) => w.content), ['movie:1']);
  assert.equal(e.replica.vv.get('tv'), 3);
  assert.deepEqual(e.outbox.ops, []);
});

test('a retryable refusal keeps the op and waits out the hint; the window never exceeds max_inflight_ops', () => {
  let now = 1_764_100_000_000;
  const e = new Engine('tv', () => now);
  live(e, { limits: { max_inflight_ops: 2 } });
  const frames = [];
  for (let i = 0; i < 5; i++) frames.push(...sent(e.add(`m:${i}`).step));
  assert.deepEqual(frames.map((f) => f.seq), [1, 2]);
  const r = e.receive(err('rate_limited', 1, { retry_after_ms: 500 }));
  assert.equal(r.events.find((x) => x.type === 'retry').afterMs, 500);
  assert.deepEqual(e.receive(err('seq_gap', 2, { expected_seq: 1 })).send, [], 'still inside the hint');
  now += 499; // a timer that fires early: nothing sent, a new retry asked for
  const early = e.pump();
  assert.deepEqual(early.send, []);
  assert.deepEqual(early.events.map((x) => [x.type, x.afterMs]), [['retry', 2]]);
  now += 1;
  assert.deepEqual(sent(e.pump()).map((f) => f.seq), [1, 2]);
  assert.deepEqual(sent(e.receive(ack(1, 2))).map((f) => f.seq), [3]);
});

test('reconnect: own ops seen in catch-up are dropped, the rest renumbered from next_seq', () => {
  const e = new Engine('tv', () => 1_764_100_000_000);
  live(e);
  e.add('a');
  e.add('b');
  e.add('c');
  e.disconnected();
  e.receive(welcome({ next_seq: 2, vv: { tv: 1 } }));
  e.receive(JSON.stringify({ type: 'delta', device: 'tv', seq: 1, version: 2, at_ms: 1, op: { kind: 'watchlist_add', content: 'a', added_at_ms: 1 } }));
  const r = sent(e.receive(JSON.stringify({ type: 'synced', version: 2 })));
  assert.deepEqual(r.map((f) => [f.seq, f.op.content]), [[2, 'b'], [3, 'c']]);
  assert.deepEqual(e.replica.view().watchlist.map((w) => w.content), ['a']);
});

test('snapshot resume: the replica is replaced, own ops it covers dropped, the rest re-applied on top', () => {
  const e = new Engine('tv', () => 1_764_100_000_000);
  live(e);
  e.add('mine-applied');
  e.add('mine-pending');
  e.disconnected();
  const snap = {
    format: 2, version: 9, vv: { tv: 1, phone: 5 },
    watchlist: { items: [
      { content: 'mine-applied', dots: [{ dot: ['tv', 1], added_at_ms: 1764100000000 }] },
      { content: 'theirs', dots: [{ dot: ['phone', 5], added_at_ms: 5 }] },
    ], context: { vv: { tv: 1, phone: 5 } } },
    playback: [], prefs: '', lease: { holder: null, token: 0 }, devices: {}, retired_dots: [],
  };
  const text = JSON.stringify(snap);
  e.receive(welcome({ resume: 'snapshot', next_seq: 2, version: 9 }));
  e.receive(JSON.stringify({ type: 'snapshot_chunk', version: 9, index: 0, total: 2, data: text.slice(0, 40) }));
  e.receive(JSON.stringify({ type: 'snapshot_chunk', version: 9, index: 1, total: 2, data: text.slice(40) }));
  const r = sent(e.receive(JSON.stringify({ type: 'synced', version: 9 })));
  assert.deepEqual(r.map((f) => [f.seq, f.op.content]), [[2, 'mine-pending']]);
  assert.deepEqual(e.view().watchlist.map((w) => w.content), ['mine-applied', 'mine-pending', 'theirs']);
  assert.deepEqual(e.replica.view().watchlist.map((w) => w.content), ['mine-applied', 'theirs']);
  assert.equal(e.replica.version, 9);
});

test('resync while live: the snapshot replaces the replica, ops in flight stay in flight', () => {
  const e = new Engine('tv', () => 1_764_100_000_000);
  live(e);
  e.add('a');
  e.receive(ack(1, 2));
  e.add('b'); // seq 2, in flight
  const snap = JSON.stringify({
    format: 2, version: 2, vv: { tv: 1 },
    watchlist: { items: [{ content: 'a', dots: [{ dot: ['tv', 1], added_at_ms: 1764100000000 }] }], context: { vv: { tv: 1 } } },
    playback: [], prefs: '', lease: { holder: null, token: 0 }, devices: {}, retired_dots: [],
  });
  e.receive(JSON.stringify({ type: 'snapshot_chunk', version: 2, index: 0, total: 1, data: snap }));
  const r = e.receive(JSON.stringify({ type: 'synced', version: 2 }));
  assert.deepEqual(r.send, [], 'op 2 is not resent');
  assert.deepEqual(e.outbox.ops.map((p) => [p.seq, p.sent]), [[2, true]]);
  e.receive(ack(2, 3));
  assert.deepEqual(e.replica.view().watchlist.map((w) => w.content), ['a', 'b']);
});
