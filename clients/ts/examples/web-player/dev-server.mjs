// Development server of the demo player: serves the page, the bundled
// @baton/client, and DEV-ONLY tokens at GET /dev/token?user=&device= by
// running `baton token` with the node's data dir (its generated development
// key). The node has no dev-mode route, so tokens come from here; never
// expose this server beyond 127.0.0.1.
//
//   BATON_BIN=target/debug/baton BATON_DATA_DIR=/tmp/baton SYNC_URL=ws://127.0.0.1:7600/v1/sync \
//     node clients/ts/examples/web-player/dev-server.mjs   # listens on 127.0.0.1:${PORT:-8080}
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const files = {
  '/': ['index.html', 'text/html'],
  '/index.html': ['index.html', 'text/html'],
  '/app.js': ['app.js', 'text/javascript'],
  '/sw.js': ['sw.js', 'text/javascript'],
  '/baton-client.js': ['../../dist-bundle/baton-client.js', 'text/javascript'],
};
const USER_OR_DEVICE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Starts the server; resolves with its port. */
export function serve({ port = 0, bin, dataDir, syncUrl }) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/dev/token') {
        const user = url.searchParams.get('user') ?? '';
        const device = url.searchParams.get('device') ?? '';
        if (!USER_OR_DEVICE.test(user) || !USER_OR_DEVICE.test(device)) {
          res.writeHead(400, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: { code: 'bad_request', message: 'user and device: 1..64 of [A-Za-z0-9._:-]' } }));
        }
        const env = { ...process.env, BATON_DATA_DIR: dataDir };
        execFile(bin, ['token', '--user', user, '--device', device, '--ttl', '1h'], { env }, (err, stdout, stderr) => {
          if (err) {
            res.writeHead(500, { 'content-type': 'application/json' });
            return res.end(JSON.stringify({ error: { code: 'token_failed', message: String(stderr || err.message) } }));
          }
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
          res.end(stdout.trim());
        });
        return;
      }
      if (url.pathname === '/config.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return res.end(JSON.stringify({ syncUrl }));
      }
      const f = files[url.pathname];
      if (!f) {
        res.writeHead(404);
        return res.end('not found');
      }
      const body = await readFile(new URL(f[0], `file://${here}`));
      res.writeHead(200, { 'content-type': f[1], 'cache-control': 'no-cache' });
      res.end(body);
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ port: server.address().port, server })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { port } = await serve({
    port: Number(process.env.PORT ?? 8080),
    bin: process.env.BATON_BIN ?? 'baton',
    dataDir: process.env.BATON_DATA_DIR ?? '.',
    syncUrl: process.env.SYNC_URL ?? 'ws://127.0.0.1:7600/v1/sync',
  });
  console.log(`web player on http://127.0.0.1:${port}/?user=alice&device=tv&kind=tv`);
}
