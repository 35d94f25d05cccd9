// The README is tested: every command in README.md's shell blocks and every manifest in its
// YAML blocks runs here as written, in README order, against a hub started the way the README
// starts it (`npm start`, in a HOME of its own, so the CLI uses the config file the hub
// writes). What cannot run on these machines is in EXCLUDED with the reason. A README command
// that is neither run nor excluded fails the first test, naming its line; so does an entry
// here that no longer matches any README line.
//
// To handle a new README command: if it starts with `edgepilot` and needs no placeholder, it
// already runs (exit 0 expected; where the README shows output, a table header is compared and
// an `error: ...` line must be what the command prints). Otherwise add it to HANDLED (how to
// run it, what to check) or EXCLUDED (why it cannot run here), keyed by its text as
// the failure message prints it.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { deviceViewSchema, listSchema, workloadViewSchema, type DeviceView, type InstanceStatus } from '../../src/protocol/index.js';
import { docker } from '../support/docker.js';
import { FTDI_ADAPTER } from '../support/fake-sysfs.js';
import type { ManagedProcess } from '../support/processes.js';
import { parseReadme, type ReadmeCommand, type ReadmeManifest } from '../support/readme-blocks.js';
import { ReadmeSession, type Machine, type ShellResult } from '../support/readme-session.js';
import { makeTempDir, repoRoot } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

const readme = parseReadme(await readFile(join(repoRoot, 'README.md'), 'utf8'));

/** Values the README stands in for; filled in as the commands that produce them run. */
const state = { hubCa: '', adminToken: '', localId: '', boardId: '', joinToken: '', boardAgentLine: '', boardAgent: undefined as ManagedProcess | undefined };

/** README placeholders and what replaces them (longest first: the token contains its id). */
const PLACEHOLDERS: [RegExp, () => string][] = [
  [/k3x9qa\.Yt0c1\.\.\./g, () => state.joinToken],
  [/\bk3x9qa\b/g, () => state.joinToken.split('.')[0] ?? ''],
  [/<id>/g, () => state.localId],
  [/ep_\.\.\./g, () => state.adminToken],
  [/\{board\}/g, () => state.boardId],
  // The Config example's CA block (indented in the YAML) stands for the CA the hub made.
  [/-----BEGIN CERTIFICATE-----\n {2}\.\.\.\n {2}-----END CERTIFICATE-----/g, () => state.hubCa.trim().split('\n').join('\n  ')],
];

interface Run {
  how: 'run';
  /** What runs instead of the README text (its placeholders are replaced too), e.g. `[-f]` spelled out. */
  variants?: string[];
  machine?: Machine;
  why?: string;
  before?: () => Promise<void>;
  /** Replaces the default check of exit status and shown output. */
  check?: (t: ExecutionContext, result: ShellResult, command: ReadmeCommand) => Promise<void> | void;
  /** Runs after every other README line (it would take away what later lines need). */
  last?: true;
}
type Entry = Run | { how: 'board-agent' } | { how: 'watch' } | { how: 'harness'; why: string };

const session = new ReadmeSession((await makeTempDir('ep-readme-')).path);
const work = (...p: string[]): string => join(session.workdir, ...p);

async function devices(): Promise<DeviceView[]> {
  const r = await session.run('edgepilot get devices -o json');
  if (r.code !== 0) throw new Error(r.stderr);
  return listSchema(deviceViewSchema).parse(JSON.parse(r.stdout)).items;
}

/** The board's state folder: the agent's default, `$XDG_DATA_HOME/edgepilot/agent`, in the board's HOME. */
const boardStateDir = (): string => join(session.boardHome, '.local', 'share', 'edgepilot', 'agent');

async function instancesOf(name: string): Promise<InstanceStatus[]> {
  const r = await session.run('edgepilot get workloads -o json');
  if (r.code !== 0) throw new Error(r.stderr);
  return listSchema(workloadViewSchema).parse(JSON.parse(r.stdout)).items.find((w) => w.name === name)?.status.instances ?? [];
}

/**
 * A reflashed board, as a technician meets one: its agent stops, its state folder loses the
 * identity and the device key (a new SD card), and it is started again the README's way with a
 * join token (a new one: the README revokes the first just before). The hub holds that join.
 */
async function reflashBoard(): Promise<void> {
  if (!state.boardAgent || !state.boardAgentLine) throw new Error('the board agent was not started');
  await session.stop(state.boardAgent);
  for (const file of ['identity.json', 'device-key.pem']) await rm(join(boardStateDir(), file));
  const token = await session.run('edgepilot token create --ttl 2h --max-uses 1 --labels site=plant-3,topology.edgepilot.io/zone=line-2');
  if (token.code !== 0) throw new Error(token.stderr);
  state.joinToken = token.stdout.trim();
  state.boardAgent = session.start('board agent (reflashed)', substitute(state.boardAgentLine), { machine: 'board' });
  await state.boardAgent.waitForOutput(/waiting for approval.*edgepilot device approve/, 60_000);
  const held = (await devices()).find((d) => d.id === state.boardId);
  if (!held?.pendingRejoin) throw new Error(`the hub shows no held re-join for ${state.boardId}: ${JSON.stringify(held)}`);
}

async function exists(t: ExecutionContext, path: string): Promise<void> {
  const found = await stat(work(path)).then(
    () => true,
    () => false,
  );
  t.true(found, `${path} exists`);
}

/** README commands with their own way to run or check, keyed by the command as written. */
const HANDLED: Record<string, Entry> = {
  'edgepilot hub --settings hub-a.yaml --check': {
    how: 'run',
    check: (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.regex(r.stdout, /kind: HubSettings/);
      t.regex(r.stdout, /hubId: hub-a/);
      t.regex(r.stdout, /store: postgres:\/\/edgepilot:\*\*\*@10\.3\.0\.8\/edgepilot/, 'the password masked');
      t.notRegex(r.stdout, /secret@/);
    },
  },
  'npm start': { how: 'harness', why: 'before() runs it in the test HOME (inside a network namespace of its own, so the default ports are free) and waits for the hub and the local agent' },
  'alias edgepilot="$PWD/bin/edgepilot.js"': { how: 'harness', why: 'every README line runs in bash with `edgepilot` a function calling this repository\'s bin/edgepilot.js' },
  'edgepilot token create --ttl 2h --max-uses 20 --labels site=plant-3,topology.edgepilot.io/zone=line-2': {
    how: 'run',
    check: (t, r) => {
      t.is(r.code, 0, r.stderr);
      state.joinToken = r.stdout.trim();
      t.regex(state.joinToken, /^[a-z0-9]{6}\.\S{16,}$/, 'one line: <id>.<secret>, as shown');
    },
  },
  'edgepilot agent --hub https://hub.plant-3:7080 --join-token k3x9qa.Yt0c1...': { how: 'board-agent' },
  'edgepilot get devices -l site=plant-3 -o json': {
    how: 'run',
    check: (t, r) => {
      t.is(r.code, 0, r.stderr);
      const list = listSchema(deviceViewSchema).parse(JSON.parse(r.stdout));
      t.deepEqual(list.items.map((d) => d.id), [state.boardId], 'only the board has site=plant-3');
    },
  },
  'edgepilot get devices --watch': { how: 'watch' },
  'edgepilot apply -f tilt-reader.yaml': {
    how: 'run',
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.regex(r.stdout, /workload\/tilt-reader (created|configured|unchanged)/);
      const stored = await session.run('edgepilot get workloads -o name');
      t.true(stored.stdout.split('\n').includes('workload/tilt-reader'), stored.stdout);
      // Running on the board (the one device with site=plant-3 and a /dev/ttyUSB0). Not ready:
      // the readiness probe waits for tcp 8080, which nothing in the example listens on.
      const [instance] = await waitFor(
        'tilt-reader to run on the board',
        async () => {
          const instances = await instancesOf('tilt-reader');
          return instances.length === 1 && instances[0]?.phase === 'running' ? instances : undefined;
        },
        90_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${(await session.run('edgepilot describe workload tilt-reader')).stdout}\n${(await session.run('edgepilot get devices -o wide')).stdout}\n${(await session.run('edgepilot describe device {board}'.replace('{board}', state.boardId ?? ''))).stdout}`);
      });
      t.is(instance?.device, state.boardId);
      // The README: "passed through into the container", at the path it names.
      const inside = await docker('exec', instance?.containerId ?? '', 'sh', '-c', 'test -c /dev/ttyUSB0 && echo hello > /dev/ttyUSB0 && echo written').catch((err: Error) => err.message);
      t.is(inside, 'written', '/dev/ttyUSB0 in the container, a character device that takes bytes');
    },
  },
  'edgepilot logs tilt-reader [--device <id>] [-f] [--tail 50]': {
    how: 'run',
    variants: ['edgepilot logs tilt-reader', 'edgepilot logs tilt-reader --device {board} --tail 50'],
    why: '<id> is the board, where tilt-reader runs; -f is not run: it follows until interrupted, and the example writes to /data/log, never to its output, so there is nothing to see arrive',
    check: (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.is(r.stderr, '');
    },
  },
  'edgepilot device approve <id>': {
    how: 'run',
    variants: ['edgepilot device approve {board}'],
    why: '<id> is the board, reflashed just before (state folder wiped) and started with a join token: the hub holds its re-join',
    before: reflashBoard,
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.regex(r.stdout, new RegExp(`^device/${state.boardId} approved key SHA256:\\S+ `));
      await state.boardAgent?.waitForOutput(new RegExp(`joined the fleet as ${state.boardId} \\(known board, same id\\)`), 60_000);
      const board = await waitFor('the reflashed board to come online under its old id', async () => (await devices()).find((d) => d.id === state.boardId && d.state === 'online'), 60_000);
      t.is(board.pendingRejoin, undefined, 'the held re-join is decided');
      t.is(board.labels['site'], 'plant-3');
    },
  },
  'edgepilot delete device <id>': {
    how: 'run',
    variants: ['edgepilot delete device {board}'],
    why: 'last, and <id> is the board: deleting the local device would take it from every line after',
    last: true,
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      const left = (await devices()).map((d) => d.id);
      t.false(left.includes(state.boardId), `the board is gone: ${left.join(', ')}`);
      t.true(left.includes(state.localId), 'the local device stays');
    },
  },
  'edgepilot restart tilt-reader [--device <id>]': {
    how: 'run',
    variants: ['edgepilot restart tilt-reader', 'edgepilot restart tilt-reader --device {board}'],
    why: 'the optional flag both ways; <id> is the board, where tilt-reader is placed',
  },
  'make -C hardware VERSION=1.2.0': {
    how: 'run',
    why: 'in a copy of hardware/ (the test runs in its own folder)',
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      for (const ext of ['elf', 'bin', 'hex']) await exists(t, `hardware/build/stm32f103-node-1.2.0.${ext}`);
      await exists(t, 'hardware/build/stc89c52-tilt-1.2.0.ihx');
    },
  },
  'make -C hardware stm32-silent VERSION=9.9.9': {
    how: 'run',
    why: 'in a copy of hardware/ (the test runs in its own folder)',
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      for (const ext of ['elf', 'bin']) await exists(t, `hardware/build/stm32f103-node-silent-9.9.9.${ext}`);
    },
  },
  'edgepilot get mcus': {
    how: 'run',
    why: 'no gateway has MCUs here, so the table the README shows cannot be compared; test/hardware lists real ones',
    check: (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.is(r.stdout.trim(), 'No MCUs attached to any gateway.');
    },
  },
  'edgepilot firmware keygen --out plant-3-fw': {
    how: 'run',
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      t.is((await stat(work('plant-3-fw.key'))).mode & 0o777, 0o600);
      await exists(t, 'plant-3-fw.pub');
    },
  },
  'edgepilot hub --firmware-key plant-3-fw.pub': {
    how: 'run',
    variants: ['edgepilot firmware trust plant-3-fw.pub'],
    why: 'a second hub cannot take the ports of the one `npm start` runs; its comment\'s alternative for a running hub runs instead',
  },
  'edgepilot firmware sign stm32f103-node-1.2.0.hex --target stm32f103 --version 1.2.0 --key plant-3-fw.key': {
    how: 'run',
    why: 'the image is at hand in the current folder, as the README assumes',
    before: () => copyFile(work('hardware/build/stm32f103-node-1.2.0.hex'), work('stm32f103-node-1.2.0.hex')),
    check: async (t, r) => {
      t.is(r.code, 0, r.stderr);
      await exists(t, 'stm32f103-1.2.0.epfw');
    },
  },
};

/** README commands that cannot run on these machines, and why. Reviewed: keep each reason true. */
const EXCLUDED: Record<string, string> = {
  'edgepilot hub --settings hub-a.yaml': 'a second hub beside the README\'s, with PostgreSQL at 10.3.0.8; the `--check` line above reads the same file, and test/integration/three-hubs.test.ts runs hubs sharing a store',
  'npm test': 'runs every test tier, this one included',
  'scripts/start-redis.sh': 'starts a machine-wide Redis for trying several hubs; the tests start their own (test/support/redis.ts)',
  'edgepilot hub --redis redis://10.3.0.9:6379 --hub-id hub-a --store postgres://edgepilot@10.3.0.8/edgepilot --secret-key-file /etc/edgepilot/secrets.key --tls-cert hub-a.pem --tls-key hub-a.key --tls-ca fleet-ca.pem':
    'a second hub beside the README\'s, with PostgreSQL (part A of issue 15); test/integration/several-hubs.test.ts runs hubs sharing Redis',
  'node dist/hardware/bench/main.js --mcu stm32f103 --image hardware/build/stm32f103-node-1.2.0.hex --link /tmp/ttyMCU0 --serial 0123456789abcdef':
    'an emulated MCU that serves a fixed /tmp/ttyMCU0 until stopped; test/hardware runs the bench',
  'edgepilot agent --hub https://hub.plant-3:7080 --join-token k3x9qa.Yt0... --mcu-port /dev/ttyUSB0 --mcu-port /dev/ttyS3 --trust-key /etc/edgepilot/plant-3-fw.pub':
    'needs MCUs on /dev/ttyUSB0 and /dev/ttyS3; test/hardware runs a gateway against emulated MCUs',
  'edgepilot telemetry vm-seji6/stm32f103-0123456789abcdef -f': 'needs a gateway with an MCU (test/hardware)',
  'edgepilot flash vm-seji6/stm32f103-0123456789abcdef --image 2.0.0': 'needs a gateway with an MCU (test/hardware)',
  'edgepilot flash --port /dev/ttyUSB0 stm32f103-1.2.0.epfw --trust-key plant-3-fw.pub': 'needs an MCU on a serial port (test/hardware flashes a bundle on site)',
};

/** Manifests that no README command applies by file name, and how they run instead. */
const MANIFESTS: Record<string, { why: string; run: (t: ExecutionContext, manifest: ReadmeManifest) => Promise<void> }> = {
  HubSettings: {
    why: 'saved as hub-a.yaml for the `--check` line below, which reads it back',
    run: async (t, manifest) => {
      await writeFile(work('hub-a.yaml'), manifest.text);
      t.pass();
    },
  },
  Config: {
    why: 'the example config, with the admin token for ep_..., read by the CLI (hub.plant-3 is this namespace\'s hub)',
    run: async (t, manifest) => {
      await writeFile(work('config.yaml'), substitute(manifest.text));
      const r = await session.run('edgepilot --config config.yaml get devices -o name');
      t.is(r.code, 0, r.stderr);
      t.true(r.stdout.includes(`device/${state.localId}`), r.stdout);
    },
  },
};

function substitute(text: string): string {
  return PLACEHOLDERS.reduce((s, [pattern, value]) => s.replace(pattern, value), text);
}

const isTableHeader = (line: string): boolean => /^[A-Z][A-Z-]*( {2,}[A-Z][A-Z -]*)+$/.test(line.trim());
const cellsOf = (line: string): string[] => line.trim().split(/ {2,}/);

/** The default check: exit 0, or the README's `error:` line and a non-zero exit; the header of a shown table. */
function defaultCheck(t: ExecutionContext, r: ShellResult, command: ReadmeCommand): void {
  const shown = command.output.map((l) => l.replace(/\s+#.*$/, ''));
  if (shown[0]?.startsWith('error: ')) {
    t.not(r.code, 0);
    t.is(r.stderr.trim(), shown.join('\n'), 'the error the README shows');
    return;
  }
  t.is(r.code, 0, `exit status; stderr: ${r.stderr}`);
  if (shown[0] && isTableHeader(shown[0])) t.deepEqual(cellsOf(r.stdout.split('\n')[0] ?? ''), cellsOf(shown[0]), 'the columns the README shows');
}

function placeholderLeft(text: string): string | undefined {
  return /<[a-z-]+>|\.\.\.|\[-/.exec(text)?.[0];
}

async function runCommand(t: ExecutionContext, command: ReadmeCommand, entry: Run | undefined): Promise<void> {
  await entry?.before?.();
  for (const variant of entry?.variants ?? [command.text]) {
    const line = substitute(variant);
    const left = placeholderLeft(line);
    if (left) return t.fail(`README.md:${command.line}: "${left}" in \`${command.text}\` has no value; add it to PLACEHOLDERS or give variants in HANDLED`);
    t.log(`$ ${line}`);
    const result = await session.run(line, { machine: entry?.machine ?? 'technician' });
    await (entry?.check ?? defaultCheck)(t, result, command);
  }
}

async function startBoardAgent(t: ExecutionContext, command: ReadmeCommand): Promise<void> {
  state.boardAgentLine = command.text;
  const agent = session.start('board agent', substitute(command.text), { machine: 'board' });
  state.boardAgent = agent;
  const board = await waitFor(
    'the board to join and go online',
    async () => {
      if (!agent.running) throw new Error(`agent exited: ${agent.output}`);
      return (await devices()).find((d) => d.labels['site'] === 'plant-3' && d.state === 'online');
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${agent.output.slice(-2000)}`);
  });
  state.boardId = board.id;
  t.not(board.id, state.localId, 'a device of its own');
  t.is(board.labels['topology.edgepilot.io/zone'], 'line-2', 'labels of the token');
  const { vendorId, productId, manufacturer, serial } = FTDI_ADAPTER;
  t.deepEqual(
    board.facts?.serialPorts.find((p) => p.path === '/dev/ttyUSB0'),
    { path: '/dev/ttyUSB0', vendorId, productId, manufacturer, serialNumber: serial },
    "the board's USB serial adapter, from sysfs",
  );
}

async function watchDevices(t: ExecutionContext, command: ReadmeCommand): Promise<void> {
  const listed = await session.run('edgepilot get devices');
  const lines = listed.stdout.trimEnd().split('\n');
  const watch = session.start('watch', command.text);
  await watch.waitForOutput(new RegExp(`(.*\\n){${lines.length}}`));
  await session.stop(watch, 'SIGINT');
  t.is(watch.output.split('\n')[0], lines[0], 'the header of get devices');
}

type Step = { line: number; label: string; harness?: true; run: (t: ExecutionContext) => Promise<void> };

const steps: Step[] = [];
const excluded: string[] = [];
const unhandled: string[] = [];
for (const command of readme.commands) {
  const entry = HANDLED[command.text];
  const where = `README.md:${command.line}: ${command.text}`;
  if (EXCLUDED[command.text] !== undefined) excluded.push(`${where} (${EXCLUDED[command.text] ?? ''})`);
  else if (entry?.how === 'harness') {
    const run = async (t: ExecutionContext): Promise<void> => {
      t.truthy(state.adminToken && state.localId, 'npm start wrote the CLI config and its local agent is online');
    };
    steps.push({ line: command.line, label: `${where} (${entry.why})`, harness: true, run });
  }
  else if (entry?.how === 'board-agent') steps.push({ line: command.line, label: `${where} (on the board)`, run: (t) => startBoardAgent(t, command) });
  else if (entry?.how === 'watch') steps.push({ line: command.line, label: where, run: (t) => watchDevices(t, command) });
  else if (entry || command.text.startsWith('edgepilot ')) {
    const label = entry?.how === 'run' && entry.last ? `${where} (after every other line)` : where;
    steps.push({ line: entry?.how === 'run' && entry.last ? Number.POSITIVE_INFINITY : command.line, label, run: (t) => runCommand(t, command, entry) });
  }
  else unhandled.push(`${where}: neither run nor excluded; add it to HANDLED or EXCLUDED in test/integration/readme.test.ts`);
}
const appliedFiles = new Set(readme.commands.flatMap((c) => [...c.text.matchAll(/apply -f (\S+)/g)].map((m) => m[1])));
for (const manifest of readme.manifests) {
  const where = `README.md:${manifest.line}: ${manifest.kind}${manifest.name ? ` ${manifest.name}` : ''}`;
  const file = `${manifest.name ?? manifest.kind}.yaml`;
  const other = MANIFESTS[manifest.kind];
  const save = async (t: ExecutionContext): Promise<void> => {
    await writeFile(work(file), manifest.text);
    t.pass();
  };
  if (appliedFiles.has(file)) steps.push({ line: manifest.line, label: `${where} (saved as ${file}, applied below)`, run: save });
  else if (other) steps.push({ line: manifest.line, label: `${where} (${other.why})`, run: (t) => other.run(t, manifest) });
  else unhandled.push(`${where}: no README command applies it as ${file}, and MANIFESTS has no way to run it`);
}
steps.sort((a, b) => a.line - b.line);

const stale = [...Object.keys(HANDLED), ...Object.keys(EXCLUDED)].filter((text) => !readme.commands.some((c) => c.text === text));
stale.push(...Object.keys(MANIFESTS).filter((kind) => !readme.manifests.some((m) => m.kind === kind)));

test.before(async () => {
  await session.setUp();
  const up = session.start('npm start', 'npm start', { cwd: repoRoot });
  await up.waitForOutput(/hub ready: API (\S+)/, 120_000);
  const config = parse(await readFile(join(session.home, '.config', 'edgepilot', 'config.yaml'), 'utf8')) as { token: string; ca: string };
  state.adminToken = config.token;
  state.hubCa = config.ca;
  const local = await waitFor('the local agent of npm start to go online', async () => (await devices()).find((d) => d.state === 'online'), 60_000);
  state.localId = local.id;
});

test.after.always(async () => {
  await session.tearDown();
  // The named volume of tilt-reader outlives the workload by design; it is this test's.
  await new Promise((resolve) => spawn('docker', ['volume', 'rm', '-f', 'ep-tilt-reader-data'], { stdio: 'ignore' }).on('exit', resolve).on('error', resolve));
  await rm(session.root, { recursive: true, force: true });
});

test.serial('every README command and manifest is run here or excluded with a reason', (t) => {
  const byHarness = steps.filter((s) => s.harness).length;
  t.log(`${steps.length - byHarness} README commands and manifests run, ${byHarness} done by the harness itself, ${excluded.length} excluded:`);
  for (const e of excluded) t.log(`  excluded ${e}`);
  t.deepEqual(unhandled, [], 'README lines this test does not handle');
  t.deepEqual(stale, [], 'entries in HANDLED, EXCLUDED or MANIFESTS that match no README line');
});

for (const step of steps) test.serial(step.label, step.run);
