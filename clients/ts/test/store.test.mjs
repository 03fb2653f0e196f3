// Persistence: an engine saved with unacknowledged edits (watchlist, playback,
// preferences) and restored from a file resumes with the same view and the
// same pending seqs; a corrupt file is a clear error and is left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatonClient, Engine } from '../dist/index.js';
import { FileStore } from '../dist/node.js';

test('file store: an engine with unsent edits survives a restart', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'baton-store-')), 'replica.json');
  const store = new FileStore(path);
  assert.equal(await store.load(), undefined);
  const e = new Engine('phone', () => 1_764_100_000_000);
  e.add('movie:1');
  e.remove('movie:1');
  e.add('movie:2');
  e.playback({ content: 'movie:2', position_ms: 5000, duration_ms: 9000, state: 'paused' });
  e.preferences((d) => {
    d.subtitles = 'fr';
  });
  await store.save(e.persisted());
  const back = Engine.restore(await store.load());
  assert.deepEqual(back.outbox.ops.map((p) => p.seq), [1, 2, 3, 4, 5]);
  assert.equal(JSON.stringify(back.view()), JSON.stringify(e.view()));
  assert.equal(back.view().preferences.subtitles, 'fr');
  // Timestamps stay monotonic across the restart.
  const before = e.persisted().hlcLast;
  back.playback({ content: 'movie:2', position_ms: 6000, duration_ms: 9000, state: 'paused' });
  assert.ok(BigInt(back.persisted().hlcLast) > BigInt(before));
});

test('file store: a corrupt file is refused with its path and left as it was', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'baton-store-')), 'replica.json');
  writeFileSync(path, '{not json');
  await assert.rejects(
    BatonClient.open({ url: 'ws://127.0.0.1:1/v1/sync', device: 'tv', hello: { kind: 'tv' }, token: () => 't', store: new FileStore(path) }),
    (e) => e.message.includes(path) && e.message.includes('not a saved Baton replica'),
  );
  assert.equal(readFileSync(path, 'utf8'), '{not json');
  assert.throws(() => Engine.restore({ format: 7 }), /format 7/);
});
