// Bundles @baton/client (with @automerge/automerge, its WebAssembly inlined as
// base64) into one minified ESM file for browsers, and prints its size.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const outfile = 'dist-bundle/baton-client.js';
await build({
  entryPoints: ['dist/index.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['import'],
  target: 'es2022',
  outfile,
  logLevel: 'warning',
});
const size = statSync(outfile).size;
const gz = gzipSync(readFileSync(outfile)).length;
console.log(`${outfile}: ${size} bytes minified, ${gz} bytes gzipped`);

// The SDK's own code, Automerge left out (what @baton/client adds to an app
// that already ships Automerge).
const own = await build({
  entryPoints: ['dist/index.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'neutral',
  external: ['@automerge/automerge'],
  target: 'es2022',
  write: false,
  logLevel: 'warning',
});
const ownText = own.outputFiles[0].contents;
console.log(`@baton/client alone: ${ownText.length} bytes minified, ${gzipSync(ownText).length} bytes gzipped`);
