// build.mjs - builds web/dist from web/src: copies the ES modules, HTML and CSS,
// and d3's UMD file from node_modules (installed by `npm ci`, pinned by
// package-lock.json). No bundler, no network: `node web/build.mjs`.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const d3dir = join(here, 'node_modules', 'd3');

if (!existsSync(join(d3dir, 'dist', 'd3.min.js'))) {
  console.error('build: node_modules/d3 is missing: run `npm ci --prefix web` first');
  process.exit(1);
}
const d3version = JSON.parse(readFileSync(join(d3dir, 'package.json'), 'utf8')).version;
if (!d3version.startsWith('7.')) {
  console.error(`build: d3 ${d3version} found, v7 expected`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'vendor'), { recursive: true });
cpSync(src, dist, { recursive: true });
cpSync(join(d3dir, 'dist', 'd3.min.js'), join(dist, 'vendor', 'd3.min.js'));
cpSync(join(d3dir, 'LICENSE'), join(dist, 'vendor', 'd3.LICENSE'));

// a version stamp in index.html so a browser does not mix files of two builds
const stamp = `${d3version}-${Date.now().toString(36)}`;
const index = join(dist, 'index.html');
writeFileSync(index, readFileSync(index, 'utf8').replaceAll('__BUILD__', stamp));

const files = readdirSync(dist, { recursive: true }).filter((f) => !f.endsWith('/')).length;
console.log(`build: web/dist (${files} files, d3 ${d3version})`);
