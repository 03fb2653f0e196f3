// The demo player on @baton/client: dev sign-in, watchlist, continue
// watching, devices with presence, "play on <device>" handoff. Its replica
// and unsent edits live in IndexedDB, so a reload while offline keeps them.
import { BatonClient, IndexedDbStore } from './baton-client.js';

const q = new URLSearchParams(location.search);
const user = q.get('user') ?? 'alice';
const device = q.get('device') ?? 'web-1';
const kind = q.get('kind') ?? 'web';
const DURATION = 7_200_000;
const $ = (id) => document.getElementById(id);

if ('serviceWorker' in navigator) navigator.serviceWorker.register('./sw.js').catch(() => undefined);

async function config() {
  try {
    const c = await (await fetch('./config.json')).json();
    localStorage.setItem('baton-config', JSON.stringify(c));
    return c;
  } catch {
    return JSON.parse(localStorage.getItem('baton-config') ?? '{}');
  }
}

const { syncUrl } = await config();
const client = await BatonClient.open({
  url: syncUrl,
  device,
  hello: { kind, name: q.get('name') ?? device, capabilities: ['playback'] },
  token: async () => {
    const r = await fetch(`./dev/token?user=${encodeURIComponent(user)}&device=${encodeURIComponent(device)}`);
    if (!r.ok) throw new Error(`dev token: ${r.status}`);
    return r.text();
  },
  store: new IndexedDbStore(`baton:${user}:${device}`),
  backoff: { baseMs: 250, maxMs: 5000 },
});
window.baton = client;

/** What this page plays: `{content, position_ms, playing}`. */
let now = null;

function play(content, position_ms, takeLease) {
  now = { content, position_ms, playing: true };
  client.playback({ content, position_ms, duration_ms: DURATION, state: 'playing', takeLease });
  render();
}

function stop() {
  if (!now) return;
  now.playing = false;
  if (client.lease().holder === device) {
    client.playback({ content: now.content, position_ms: now.position_ms, duration_ms: DURATION, state: 'paused' });
  }
  render();
}

setInterval(() => {
  if (!now?.playing) return client.setActivity(null);
  now.position_ms += 1000;
  client.setActivity({ content: now.content, state: 'playing', position_ms: now.position_ms });
  if (now.position_ms % 5000 === 0 && client.lease().holder === device) {
    client.playback({ content: now.content, position_ms: now.position_ms, duration_ms: DURATION, state: 'playing' });
  }
  render();
}, 1000);

client.on('playback_control', (c) => play(c.content, c.position_ms, false));
client.on('lease', (l) => {
  if (now?.playing && l.holder !== device) {
    now.playing = false;
    render();
  }
});
for (const ev of ['state', 'presence', 'connection', 'lease']) client.on(ev, () => render());

const fmt = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};

function render() {
  const s = client.state();
  const pendingSeqs = new Set(client.pending());
  $('who').textContent = `${user} / ${device}`;
  $('status').textContent = client.connection();
  $('status').className = client.connection();
  $('pending-count').textContent = pendingSeqs.size ? `${pendingSeqs.size} unsent` : '';
  $('pending-count').dataset.count = String(pendingSeqs.size);
  const confirmed = new Set(client.confirmed().watchlist.map((w) => w.content));
  $('watchlist').replaceChildren(
    ...s.watchlist.map((w) =>
      el(
        'li',
        { 'data-content': w.content },
        el('span', { class: 'grow' }, w.content),
        confirmed.has(w.content) ? '' : el('span', { class: 'pending' }, 'unsent'),
        el('button', { class: 'play', onclick: () => play(w.content, s.playback.find((p) => p.content === w.content)?.position_ms ?? 0, true) }, 'Play'),
        el('button', { class: 'secondary remove', onclick: () => client.remove(w.content) }, 'Remove'),
      ),
    ),
  );
  $('continue').replaceChildren(
    ...s.playback
      .filter((p) => p.state !== 'ended')
      .map((p) =>
        el(
          'li',
          { 'data-content': p.content, 'data-position': String(p.position_ms) },
          el('span', { class: 'grow' }, `${p.content} at ${fmt(p.position_ms)} (${p.device})`),
          el('button', { class: 'resume', onclick: () => play(p.content, p.position_ms, true) }, 'Resume'),
        ),
      ),
  );
  const lease = client.lease();
  $('devices').replaceChildren(
    ...client.presence().map((d) =>
      el(
        'li',
        { 'data-device': d.device, 'data-online': String(d.online) },
        el('span', { class: `dot ${d.online ? 'on' : ''}` }),
        el('span', { class: 'grow' }, `${d.name}${d.device === device ? ' (this)' : ''}${lease.holder === d.device ? ' ▶' : ''}`),
        d.device !== device && d.online && now?.playing
          ? el('button', { class: 'play-on', onclick: () => handoff(d.device) }, `Play on ${d.name}`)
          : '',
      ),
    ),
  );
  $('now').textContent = now ? `${now.playing ? 'Playing' : 'Paused'} ${now.content} at ${fmt(now.position_ms)}` : 'nothing';
  $('now').dataset.content = now?.content ?? '';
  $('now').dataset.position = String(now?.position_ms ?? 0);
  $('now').dataset.playing = String(!!now?.playing);
  $('progress').value = now ? now.position_ms / DURATION : 0;
}

async function handoff(target) {
  if (!now) return;
  const { content, position_ms } = now;
  const outcome = await client.handoff(target, content, position_ms);
  if (outcome === 'delivered') {
    now.playing = false;
    render();
  }
}

$('add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = $('add-content').value.trim();
  if (v) client.add(v);
  $('add-content').value = '';
});
$('pause').addEventListener('click', stop);
render();
