import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, repoRoot } from '../../support/paths.js';

interface BuildOptions {
  force?: boolean;
  compile?: (root: string) => void;
}
interface BuildScript {
  build(root: string, options?: BuildOptions): boolean;
  isStale(root: string): boolean;
}

const script = (): Promise<BuildScript> => import(pathToFileURL(join(repoRoot, 'scripts', 'build.mjs')).href) as Promise<BuildScript>;

/** A project with the build's inputs; the "compiler" writes the outputs and counts its runs. */
async function project(t: { teardown(fn: () => Promise<void>): void }) {
  const dir = await makeTempDir('ep-build-');
  t.teardown(() => dir.remove());
  await mkdir(join(dir.path, 'src', 'cli'), { recursive: true });
  await writeFile(join(dir.path, 'src', 'main.ts'), 'export const a = 1;\n');
  await writeFile(join(dir.path, 'src', 'cli', 'program.ts'), 'export const b = 2;\n');
  await writeFile(join(dir.path, 'package-lock.json'), '{"lockfileVersion": 3}\n');
  await writeFile(join(dir.path, 'tsconfig.json'), '{}\n');
  const runs: string[] = [];
  const compile = (root: string): void => {
    runs.push(root);
    // Synchronous like the real build (tsc, the agent bundle, the dashboard).
    mkdirSync(join(root, 'dist', 'src'), { recursive: true });
    mkdirSync(join(root, 'dist', 'agent'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'main.js'), '');
    writeFileSync(join(root, 'dist', 'agent', 'agent.mjs'), '');
    mkdirSync(join(root, 'dist', 'dashboard'), { recursive: true });
    writeFileSync(join(root, 'dist', 'dashboard', 'index.html'), '');
  };
  return { root: dir.path, runs, compile };
}

test('the first start builds; a second with nothing changed does not', async (t) => {
  const { build } = await script();
  const p = await project(t);
  t.true(build(p.root, { force: false, compile: p.compile }), 'fresh clone: builds');
  t.false(build(p.root, { force: false, compile: p.compile }), 'nothing changed: skips');
  t.is(p.runs.length, 1);
  t.regex(await readFile(join(p.root, 'dist', '.build-stamp'), 'utf8'), /^[0-9a-f]{64}\n$/);
});

test('an edited, added or deleted source file, or a new lock file, rebuilds', async (t) => {
  const { build, isStale } = await script();
  const p = await project(t);
  build(p.root, { compile: p.compile });
  const changes: [string, () => Promise<void>][] = [
    ['edit', () => writeFile(join(p.root, 'src', 'cli', 'program.ts'), 'export const b = 3;\n')],
    ['add', () => writeFile(join(p.root, 'src', 'new.ts'), '\n')],
    ['delete', () => rm(join(p.root, 'src', 'new.ts'))],
    ['lock', () => writeFile(join(p.root, 'package-lock.json'), '{"lockfileVersion": 3, "x": 1}\n')],
  ];
  for (const [what, change] of changes) {
    await change();
    t.true(isStale(p.root), what);
    t.true(build(p.root, { force: false, compile: p.compile }), `${what}: rebuilds`);
    t.false(build(p.root, { force: false, compile: p.compile }), `${what}: then up to date`);
  }
  t.is(p.runs.length, 1 + changes.length);
});

test('rewriting a file with the same content does not rebuild; a missing output does', async (t) => {
  const { build } = await script();
  const p = await project(t);
  build(p.root, { compile: p.compile });
  await writeFile(join(p.root, 'src', 'main.ts'), 'export const a = 1;\n');
  t.false(build(p.root, { force: false, compile: p.compile }));
  await rm(join(p.root, 'dist', 'agent'), { recursive: true });
  t.true(build(p.root, { force: false, compile: p.compile }));
});

test('npm start builds through the stale check, npm run build always builds', async (t) => {
  const start = await readFile(join(repoRoot, 'scripts', 'start.sh'), 'utf8');
  t.regex(start, /^node scripts\/build\.mjs --if-stale$/m);
  t.notRegex(start, /npm run[^\n]* build/);
  const scripts = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  t.is(scripts['build'], 'node scripts/build.mjs');
});
