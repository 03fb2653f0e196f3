// Conformance: replays every vector of clients/vectors through the engine and
// compares the confirmed replica (and the pending seqs) with the expected
// state byte for byte (canonical compact JSON, as the server's /state prints it).
// The vectors come from baton-crdt (clients/conformance); the Rust client replays the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Engine, stateJson, sortedJson } from '../dist/index.js';

const dir = new URL('../../vectors/', import.meta.url);
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

/** The expected object as canonical text: known keys in /state order, then `pending`. */
function expectedText(x) {
  const { pending, ...state } = x;
  return `${stateJson(state).slice(0, -1)},"pending":${JSON.stringify(pending)}}`;
}

test('the vector directory holds vectors', () => {
  assert.ok(files.length > 0, `no vectors in ${dir.pathname} (cargo run -p baton-conformance --bin baton-vectors writes them)`);
});

for (const file of files) {
  const v = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  test(`vector ${file}: ${v.description ?? v.name}`, () => {
    // Time passes between steps (a minute each): retry hints run out, and the
    // shell's retry timer fires (pump) before the next frame arrives.
    let now = 1_764_100_000_000;
    const engine = new Engine(v.device, () => now);
    const problems = [];
    for (const [i, step] of v.steps.entries()) {
      now += 60_000;
      engine.pump();
      if (step.recv !== undefined) {
        const out = engine.receive(JSON.stringify(step.recv));
        for (const e of out.events) if (e.type === 'error' && e.error.kind === 'protocol') problems.push(`step ${i}: ${e.error.message}`);
      } else if (step.local !== undefined) {
        const { seq } = engine.submit(step.local.op);
        assert.equal(seq, step.local.seq, `step ${i}: the local op got seq ${seq}, the vector says ${step.local.seq}`);
      } else {
        assert.fail(`step ${i}: neither recv nor local: ${sortedJson(step)}`);
      }
    }
    assert.deepEqual(problems, []);
    const got = `${stateJson(engine.replica.view()).slice(0, -1)},"pending":${JSON.stringify(engine.outbox.ops.map((p) => p.seq))}}`;
    assert.equal(got, expectedText(v.expected));
  });
}
