// CLI polish (issue 12): a closed stdout, a broken config file, and `get devices --watch`
// printing what `get devices` prints. A hub in this process, the CLI as a real process.
// Serial: one test labels a device, which would change the rows another compares.
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningHub } from '../../src/hub/main.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { edgepilotBin, makeTempDir } from '../support/paths.js';
import { runCli, type CliResult } from '../support/processes.js';

const ctx = {} as { hub: RunningHub; root: string; env: NodeJS.ProcessEnv; ids: string[]; remove(): Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-cli-polish-');
  const log = captureLog();
  ctx.root = tmp.path;
  ctx.hub = await startTestHub(tmp.path, log.logger);
  const token = ctx.hub.createdAdminToken ?? '';
  // Config home with no config file: hub and token come from the environment.
  ctx.env = { XDG_CONFIG_HOME: join(tmp.path, 'config'), EDGEPILOT_HUB: ctx.hub.apiUrl, EDGEPILOT_TOKEN: token };
  ctx.ids = [];
  for (const hw of ['polish-a', 'polish-bb']) ctx.ids.push((await registerTestDevice(ctx.hub, hw, log.logger)).deviceId);
  ctx.remove = async () => {
    await ctx.hub.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(args, { ...ctx.env, ...env });

interface ClosedPipeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  firstLine: string;
  stderr: string;
}

/**
 * Runs the CLI with stdout a pipe whose reading end is closed after `linesBeforeClose` lines
 * (0: before the CLI writes anything), like `edgepilot … | head -1`. `afterClose` may make the
 * CLI write again (a watch).
 */
async function withClosedStdout(args: string[], linesBeforeClose: number, afterClose?: () => Promise<void>): Promise<ClosedPipeRun> {
  const child = spawn(process.execPath, [edgepilotBin, ...args], { env: { ...process.env, ...ctx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let firstLine = '';
  if (linesBeforeClose === 0) child.stdout.destroy();
  else {
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        seen += c.toString('utf8');
        if (seen.split('\n').length > linesBeforeClose) {
          firstLine = seen.split('\n')[0] ?? '';
          child.stdout.destroy();
          resolve();
        }
      });
    });
    await afterClose?.();
  }
  const [code, signal] = await exited;
  return { code, signal, firstLine, stderr };
}

for (const args of [['--help'], ['get', 'devices', '--help'], ['get', 'devices', '-o', 'json'], ['get', 'devices', '--watch']]) {
  test.serial(`edgepilot ${args.join(' ')} into a pipe closed before it writes: status 0, nothing on stderr`, async (t) => {
    const run = await withClosedStdout(args, 0);
    t.is(run.stderr, '', 'no stack trace');
    t.is(run.code, 0);
  });
}

test.serial('get devices --watch | head -1: the watch ends quietly at its next write', async (t) => {
  const run = await withClosedStdout(['get', 'devices', '--watch'], 1, async () => {
    // A change makes the watch print a row into the closed pipe.
    const labelled = await cli(['label', 'device', ctx.ids[0] ?? '', `poke=${Date.now()}`]);
    if (labelled.code !== 0) throw new Error(labelled.stderr);
  });
  t.regex(run.firstLine, /^ID\s+STATUS/);
  t.is(run.stderr, '', 'no stack trace');
  t.is(run.code, 0);
});

async function brokenConfigHome(): Promise<{ env: NodeJS.ProcessEnv; file: string }> {
  const home = join(ctx.root, 'broken-config');
  await mkdir(join(home, 'edgepilot'), { recursive: true });
  const file = join(home, 'edgepilot', 'config.yaml');
  // A stray space after the port's colon: YAML reads a nested mapping on line 3.
  await writeFile(file, `apiVersion: edgepilot.io/v1\nkind: Config\nhub: ${ctx.hub.apiUrl.replace(/:(\d+)$/, ': $1')}\ntoken: x\n`);
  return { env: { XDG_CONFIG_HOME: home, EDGEPILOT_HUB: '', EDGEPILOT_TOKEN: '' }, file };
}

test.serial('a broken config file: --hub and --token still work, and so does the environment', async (t) => {
  const { env } = await brokenConfigHome();
  const flags = await cli(['get', 'devices', '-o', 'name', '--hub', ctx.hub.apiUrl, '--token', ctx.hub.createdAdminToken ?? ''], env);
  t.is(flags.stderr, '');
  t.is(flags.code, 0);
  t.deepEqual(flags.stdout.trim().split('\n').sort(), ctx.ids.map((id) => `device/${id}`).sort());
  const fromEnv = await cli(['get', 'devices', '-o', 'name'], { ...env, EDGEPILOT_HUB: ctx.hub.apiUrl, EDGEPILOT_TOKEN: ctx.hub.createdAdminToken ?? '' });
  t.is(fromEnv.code, 0, fromEnv.stderr);
});

test.serial('a broken config file that is needed: one line with the file, the line and the problem', async (t) => {
  const { env, file } = await brokenConfigHome();
  const result = await cli(['get', 'devices', '--hub', ctx.hub.apiUrl], env);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, result.stderr);
  t.true(lines[0]?.startsWith(`error: config file ${file}:3:`), lines[0]);
  t.regex(lines[0] ?? '', /:3:\d+: YAML syntax error: \S/);
});

/** What a watch printed until it had `lines` lines; then it is stopped. */
async function watchLines(args: string[], lines: number): Promise<string[]> {
  const child = spawn(process.execPath, [edgepilotBin, ...args], { env: { ...process.env, ...ctx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.split('\n').length > lines) resolve();
    });
    child.once('exit', () => reject(new Error(`watch exited early: ${err}`)));
  });
  child.kill('SIGINT');
  await exited;
  return out.split('\n').slice(0, lines);
}

/** Cells of a table line; time columns (AGE, LAST-SEEN) tick between two commands. */
function cells(line: string, header: string[]): string[] {
  return line.split(/ {3,}/).map((cell, i) => (['AGE', 'LAST-SEEN'].includes(header[i] ?? '') ? '<time>' : cell));
}

for (const wide of [false, true]) {
  const output = wide ? ['-o', 'wide'] : [];
  test.serial(`get devices --watch ${output.join(' ')} opens with the same header and rows as get devices ${output.join(' ')}`.replace(/ +/g, ' '), async (t) => {
    const listed = await cli(['get', 'devices', ...output]);
    t.is(listed.code, 0, listed.stderr);
    const expected = listed.stdout.trimEnd().split('\n');
    t.is(expected.length, 1 + ctx.ids.length);
    const watched = await watchLines(['get', 'devices', '--watch', ...output], expected.length);
    const header = (expected[0] ?? '').split(/ {3,}/);
    if (wide) t.deepEqual(header.slice(-6), ['HOSTNAME', 'OS', 'KERNEL', 'DOCKER', 'LAST-SEEN', 'LABELS']);
    t.deepEqual(watched.map((l) => cells(l, header)), expected.map((l) => cells(l, header)));
    // Padding too, where no time column sits before it.
    if (!wide) t.is(watched[0], expected[0]);
  });
}
