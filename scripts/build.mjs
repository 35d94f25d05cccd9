// The build (`npm run build`): tsc (incremental) then the agent bundle, then a stamp of the
// inputs. `--if-stale` (what `npm start` runs) builds only when the stamp no longer matches
// the sources, so a start with nothing changed costs a hash of the sources, not a compile.
// The stamp is a content hash, not mtimes: a checkout that rewrites files unchanged does not
// rebuild, and any real edit does, whatever its timestamp.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the build reads: tsconfig's include, the bundler and its stubs, the dependency lock. */
export const BUILD_INPUTS = ['src', 'test', 'bench', 'hardware/bench', 'dashboard', 'scripts/bundle-agent.mjs', 'scripts/protocol-pure.mjs', 'scripts/stubs', 'tsconfig.json', 'package.json', 'package-lock.json'];
/** What `npm start` runs; missing means never built (or half deleted). */
export const BUILD_OUTPUTS = ['dist/src/main.js', 'dist/agent/agent.mjs', 'dist/dashboard/index.html'];
export const STAMP = 'dist/.build-stamp';

function filesUnder(root, entry) {
  const path = join(root, entry);
  if (!existsSync(path)) return [];
  let names;
  try {
    names = readdirSync(path, { withFileTypes: true });
  } catch {
    return [entry];
  }
  return names.flatMap((d) => (d.isDirectory() ? filesUnder(root, join(entry, d.name)) : [join(entry, d.name)]));
}

/** One hash over the name and content of every input file. */
export function inputsDigest(root, inputs = BUILD_INPUTS) {
  const hash = createHash('sha256');
  for (const file of inputs.flatMap((i) => filesUnder(root, i)).sort()) {
    hash.update(`${relative(root, join(root, file))}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

export function isStale(root, options = {}) {
  const outputs = options.outputs ?? BUILD_OUTPUTS;
  if (!outputs.every((o) => existsSync(join(root, o)))) return true;
  const stamp = join(root, options.stamp ?? STAMP);
  return !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== inputsDigest(root, options.inputs);
}

function run(root, args) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function compileAndBundle(root) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  run(root, [tsc, '-p', 'tsconfig.json']);
  // The PostgreSQL store's schema migrations are read at run time from beside the compiled runner.
  cpSync(join(root, 'src/hub/store/postgres/migrations'), join(root, 'dist/src/hub/store/postgres/migrations'), { recursive: true });
  run(root, ['scripts/bundle-agent.mjs']);
  // The dashboard: type-checked against the protocol's types, then bundled by Vite for the hub to serve.
  run(root, [tsc, '-p', 'dashboard/tsconfig.json']);
  run(root, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'dashboard/vite.config.mjs']);
}

/**
 * Builds when `force` or stale; returns whether it built. The digest is taken before the build,
 * so an edit made while it runs leaves the stamp behind and the next start builds again.
 */
export function build(root, options = {}) {
  if (!options.force && !isStale(root, options)) return false;
  const digest = inputsDigest(root, options.inputs);
  (options.compile ?? compileAndBundle)(root);
  writeFileSync(join(root, options.stamp ?? STAMP), `${digest}\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const ifStale = process.argv.includes('--if-stale');
  const built = build(root, { force: !ifStale });
  if (ifStale && !built) process.stderr.write('build is up to date with the sources\n');
}
