// The reconnect policy: close codes, backoff bounds with full jitter and the
// server's hint, the token's exp read from the JWT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, closeAction, refreshDelay, tokenExpiryMs } from '../dist/index.js';

test('close codes: stop on 4001/4000, at once on 4009, backoff otherwise', () => {
  assert.equal(closeAction(4001), 'stop');
  assert.equal(closeAction(4000), 'stop');
  assert.equal(closeAction(4009), 'now');
  for (const c of [1001, 1006, 1008, 1011, 1012, 1013, 4002, 4008, 4029]) assert.equal(closeAction(c), 'backoff');
});

test('backoff: full jitter under min(30 s, 0.5 s * 2^attempt), never below the hint', () => {
  assert.equal(backoffDelay(0, 0, {}, () => 0.999999), 0.999999 * 500);
  assert.equal(backoffDelay(3, 0, {}, () => 1), 4000);
  assert.equal(backoffDelay(20, 0, {}, () => 1), 30_000);
  assert.equal(backoffDelay(20, 0, {}, () => 0), 0);
  assert.equal(backoffDelay(0, 7000, {}, () => 1), 7000);
  assert.equal(backoffDelay(2, 0, { baseMs: 10, maxMs: 25 }, () => 1), 25);
});

test('token refresh: exp from the JWT, a reconnect margin before it, none for short tokens', () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const tok = `${b64({ alg: 'RS256' })}.${b64({ sub: 'a', exp: 1_800_000_000 })}.sig`;
  assert.equal(tokenExpiryMs(tok), 1_800_000_000_000);
  assert.equal(tokenExpiryMs('not-a-jwt'), undefined);
  assert.equal(tokenExpiryMs(`x.${b64({ exp: 'soon' })}.y`), undefined);
  assert.equal(refreshDelay(100_000, 0, 10_000), 90_000);
  assert.equal(refreshDelay(15_000, 0, 10_000), undefined);
  assert.equal(refreshDelay(undefined, 0, 10_000), undefined);
});
