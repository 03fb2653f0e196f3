// The demo player in real headless Chromium (Debian's package, driven by
// playwright-core) against a real node: a TV and a phone in two browser
// contexts. An add on the phone appears on the TV; the phone goes offline
// (network emulation), edits, is reloaded while offline (its unsent edits come
// back from IndexedDB), comes back, and both converge; a handoff starts
// playback on the phone at the TV's position. Screenshots go to a temporary
// directory, or with UPDATE_SCREENSHOTS=1 to examples/web-player/screenshots/
// (the ones the READMEs show).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { Node, until } from '../test/harness.mjs';
import { serve } from '../examples/web-player/dev-server.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const shots = process.env.UPDATE_SCREENSHOTS
  ? new URL('../examples/web-player/screenshots/', import.meta.url)
  : pathToFileURL(`${mkdtempSync(join(tmpdir(), 'baton-player-'))}/`);

test('web player: TV and phone converge through offline edits, a reload and a handoff', async (t) => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_BIN)`);
  mkdirSync(shots, { recursive: true });
  const node = await new Node().start();
  const { port, server } = await serve({ bin: node.bin, dataDir: node.data, syncUrl: node.url });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(async () => {
    await browser.close();
    server.close();
    await node.stop();
  });
  const base = `http://127.0.0.1:${port}/`;
  const tvCtx = await browser.newContext({ viewport: { width: 1000, height: 560 } });
  const phoneCtx = await browser.newContext({ viewport: { width: 1000, height: 560 } });
  const tv = await tvCtx.newPage();
  const phone = await phoneCtx.newPage();
  for (const p of [tv, phone]) p.on('pageerror', (e) => console.error('page error:', e.message));
  await tv.goto(`${base}?user=alice&device=tv&kind=tv&name=Living%20room%20TV`);
  await phone.goto(`${base}?user=alice&device=phone&kind=mobile&name=Phone`);
  const status = (p) => p.locator('#status');
  await until(async () => (await status(tv).textContent()) === 'online' && (await status(phone).textContent()) === 'online', 'both online');
  // The service worker holds the shell before the phone goes offline.
  await phone.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  // An add on the phone appears on the TV.
  await phone.fill('#add-content', 'movie:1');
  await phone.click('#add');
  await tv.locator('#watchlist li[data-content="movie:1"]').waitFor();
  const pendingCount = (p) => p.locator('#pending-count').getAttribute('data-count');
  await until(async () => (await pendingCount(phone)) === '0', 'the phone has its ack');
  const items = (p) => p.locator('#watchlist li').evaluateAll((lis) => lis.map((li) => li.dataset.content));

  // The phone goes offline and edits; the TV edits meanwhile.
  await phoneCtx.setOffline(true);
  await until(async () => (await status(phone).textContent()) !== 'online', 'phone offline');
  await phone.fill('#add-content', 'movie:2');
  await phone.click('#add');
  await phone.click('#watchlist li[data-content="movie:1"] button.remove');
  await tv.fill('#add-content', 'movie:3');
  await tv.click('#add');
  await tv.locator('#watchlist li[data-content="movie:3"]').waitFor();
  assert.deepEqual(await items(phone), ['movie:2']);
  assert.equal(await pendingCount(phone), '2');

  // A reload while offline keeps the unsent edits (IndexedDB; the write of the
  // last edit is awaited, as a page would on `visibilitychange`).
  await phone.evaluate(() => window.baton.flushed());
  await phone.reload();
  await phone.locator('#watchlist li[data-content="movie:2"]').waitFor();
  assert.deepEqual(await items(phone), ['movie:2']);
  assert.equal(await pendingCount(phone), '2');
  await phone.screenshot({ path: new URL('phone-offline-after-reload.png', shots).pathname });

  // Back online: both converge.
  await phoneCtx.setOffline(false);
  await until(async () => (await pendingCount(phone)) === '0', 'phone sent its edits', 30_000);
  await until(async () => JSON.stringify(await items(tv)) === '["movie:2","movie:3"]', 'tv converged');
  await until(async () => JSON.stringify(await items(phone)) === '["movie:2","movie:3"]', 'phone converged');
  const tvState = await tv.evaluate(() => JSON.stringify(window.baton.confirmed().watchlist));
  const phoneState = await phone.evaluate(() => JSON.stringify(window.baton.confirmed().watchlist));
  assert.equal(tvState, phoneState);
  const onServer = JSON.parse(await node.stateText('alice'));
  assert.equal(JSON.stringify(onServer.watchlist), tvState);
  await tv.screenshot({ path: new URL('tv-converged.png', shots).pathname });

  // Handoff: the TV plays movie:3, then "Play on" the phone.
  await tv.click('#watchlist li[data-content="movie:3"] button.play');
  await until(async () => (await tv.evaluate(() => window.baton.lease().holder)) === 'tv', 'tv holds the lease');
  await until(async () => Number(await tv.locator('#now').getAttribute('data-position')) >= 2000, 'tv playing');
  const button = tv.locator('#devices li[data-device="phone"] button.play-on');
  await button.waitFor();
  const tvPos = Number(await tv.locator('#now').getAttribute('data-position'));
  await button.click();
  await until(async () => (await phone.locator('#now').getAttribute('data-playing')) === 'true', 'phone playing');
  assert.equal(await phone.locator('#now').getAttribute('data-content'), 'movie:3');
  assert.ok(Number(await phone.locator('#now').getAttribute('data-position')) >= tvPos, 'phone starts at the TV position');
  await until(async () => (await tv.locator('#now').getAttribute('data-playing')) === 'false', 'tv stopped');
  assert.equal(await phone.evaluate(() => window.baton.lease().holder), 'phone');
  await phone.screenshot({ path: new URL('phone-after-handoff.png', shots).pathname });
  await tv.screenshot({ path: new URL('tv-after-handoff.png', shots).pathname });
});
