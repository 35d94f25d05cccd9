import test, { type ExecutionContext } from 'ava';
import Fastify from 'fastify';
import { basename } from 'node:path';
import { nodeDurableFileSystem, type DurableFileSystem } from '../../../src/common/durable-file.js';
import { registerWorkloadRoutes } from '../../../src/hub/api/routes/workloads.js';
import { GroupCommit } from '../../../src/hub/store/group-commit.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { WorkloadRecord } from '../../../src/hub/store/records.js';
import { makeTempDir } from '../../support/paths.js';

/** One step of a durable write, or an answer given to a caller, in the order they happened. */
type Step = { op: 'write'; temp: string; contents: string } | { op: 'rename'; from: string; to: string } | { op: 'syncFolder' } | { op: 'ack'; name: string };

/** The real file operations, recorded, with each fsync of the folder slowed so that writers pile up. */
function recordingFs(steps: Step[], folderSyncMs = 15): DurableFileSystem {
  return {
    async writeAndSync(temp, contents) {
      steps.push({ op: 'write', temp, contents: String(contents) });
      await nodeDurableFileSystem.writeAndSync(temp, contents);
    },
    async rename(from, to) {
      await nodeDurableFileSystem.rename(from, to);
      steps.push({ op: 'rename', from, to });
    },
    async syncFolder(folder) {
      await new Promise((r) => setTimeout(r, folderSyncMs));
      await nodeDurableFileSystem.syncFolder(folder);
      steps.push({ op: 'syncFolder' });
    },
    unlink: (path) => nodeDurableFileSystem.unlink(path),
  };
}

/**
 * The workloads of store.json as it was when the folder was last fsynced before step `at`:
 * what a crash at that moment would leave on disk. Empty if no commit had finished.
 */
function durableWorkloadsAt(steps: readonly Step[], at: number): Set<string> {
  for (let i = at - 1; i >= 0; i--) {
    if (steps[i]?.op !== 'syncFolder') continue;
    for (let j = i - 1; j >= 0; j--) {
      const rename = steps[j];
      if (rename?.op !== 'rename' || basename(rename.to) !== 'store.json') continue;
      const write = steps.slice(0, j).findLast((s): s is Extract<Step, { op: 'write' }> => s.op === 'write' && s.temp === rename.from);
      const doc = JSON.parse(write?.contents ?? '{}') as { workloads?: Record<string, unknown> };
      return new Set(Object.keys(doc.workloads ?? {}));
    }
  }
  return new Set();
}

function workload(name: string): WorkloadRecord {
  const now = new Date(0).toISOString();
  return { name, labels: {}, annotations: {}, spec: { replicas: 1, template: { runtime: 'process', command: ['sleep', '1'] } }, revision: 'r1', createdAt: now, updatedAt: now } as unknown as WorkloadRecord;
}

function manifest(name: string): unknown {
  return { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name }, spec: { replicas: 1, template: { runtime: 'process', command: ['sleep', '1'] } } };
}

function assertEveryAckDurable(t: ExecutionContext, steps: readonly Step[]): void {
  steps.forEach((step, i) => {
    if (step.op !== 'ack') return;
    t.true(durableWorkloadsAt(steps, i).has(step.name), `${step.name} was acknowledged before a commit holding it was durable`);
  });
}

test('concurrent writers share commits, and each is answered only after the folder fsync of a commit holding its change', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const steps: Step[] = [];
  const store = await openLowdbStore(dir.path, () => undefined, { fs: recordingFs(steps) });
  const writers = 100;
  const waves = 4;
  // Several waves, each arriving while the previous one's commit is on its way to disk.
  const acks: Promise<void>[] = [];
  for (let wave = 0; wave < waves; wave++) {
    for (let i = 0; i < writers / waves; i++) {
      const name = `w${wave}-${i}`;
      acks.push(store.workloads.putAll([workload(name)]).then(() => void steps.push({ op: 'ack', name })));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(acks);
  assertEveryAckDurable(t, steps);
  const commits = steps.filter((s) => s.op === 'syncFolder').length;
  t.true(commits <= writers / 10, `${writers} writers took ${commits} commits`);
  t.is(store.commits, commits);
  await store.close();
});

test('a change made while a paced commit waits for its turn is answered by that commit, not the one after', async (t) => {
  const written: number[] = [];
  const gates: (() => void)[] = [];
  const sleeps: (() => void)[] = [];
  let value = 0;
  const commit = new GroupCommit(
    { snapshot: () => String(value), persist: (contents) => new Promise<void>((r) => gates.push(() => (written.push(Number(contents)), r()))) },
    { minIntervalMs: 25, clock: () => 0, sleep: () => new Promise<void>((r) => sleeps.push(r)) },
  );
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  const answered: number[] = [];
  value = 1;
  void commit.commit().then(() => answered.push(1));
  value = 2; // while the first commit is in flight: joins the next one
  void commit.commit().then(() => answered.push(2));
  gates.shift()?.();
  await tick();
  t.deepEqual(answered, [1]);
  t.is(sleeps.length, 1, 'back-to-back commits are paced');
  value = 3; // while the next commit waits for its turn: its snapshot is not taken yet
  void commit.commit().then(() => answered.push(3));
  sleeps.shift()?.();
  await tick();
  gates.shift()?.();
  await commit.idle();
  await tick();
  t.deepEqual(written, [1, 3], 'one commit for both later changes');
  t.deepEqual(answered, [1, 2, 3]);
  t.is(commit.commits, 2);
  t.is(gates.length, 0, 'no third commit');
});

test('an answer with nothing to write waits for pending changes to be durable', async (t) => {
  let release: (() => void) | undefined;
  const commit = new GroupCommit({ snapshot: () => 'x', persist: () => new Promise<void>((r) => (release = r)) });
  const order: string[] = [];
  void commit.commit().then(() => order.push('writer'));
  void commit.settled().then(() => order.push('reader'));
  await new Promise((r) => setImmediate(r));
  t.deepEqual(order, []);
  release?.();
  await commit.idle();
  await new Promise((r) => setImmediate(r));
  t.deepEqual(order, ['writer', 'reader']);
  t.is(await commit.settled().then(() => 'at once'), 'at once');
});

test('a failed commit fails its callers and the next change is written again', async (t) => {
  let fail = true;
  const written: string[] = [];
  const commit = new GroupCommit({
    snapshot: () => 'doc',
    persist: async (contents) => {
      if (fail) throw new Error('disk full');
      written.push(contents);
    },
  });
  await t.throwsAsync(commit.commit(), { message: 'disk full' });
  fail = false;
  await commit.commit();
  t.deepEqual(written, ['doc']);
});

test('apply answers after the commit holding its workloads is durable, without waiting for placement; ?wait=true waits for it', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const steps: Step[] = [];
  const store = await openLowdbStore(dir.path, () => undefined, { fs: recordingFs(steps) });
  let passes = 0;
  let runPass: (() => void) | undefined;
  const passRan = new Promise<void>((r) => (runPass = r));
  const app = Fastify({ logger: false });
  registerWorkloadRoutes(app, {
    store,
    now: () => new Date(0),
    passAfterWrite: () => ((passes += 1), passRan),
    unplacedReasons: () => new Map(),
  });
  const writers = 40;
  const answers = await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      const name = `app-${i}`;
      const response = await app.inject({ method: 'POST', url: '/v1/apply', payload: { manifests: [manifest(name), manifest(`${name}-b`)] } });
      steps.push({ op: 'ack', name }, { op: 'ack', name: `${name}-b` });
      return response.statusCode;
    }),
  );
  t.deepEqual(new Set(answers), new Set([200]));
  t.is(passes, writers, 'each apply asked for a pass (the controller coalesces them)');
  assertEveryAckDurable(t, steps);
  const commits = steps.filter((s) => s.op === 'syncFolder').length;
  t.true(commits <= writers / 4, `${writers} applies took ${commits} commits`);

  let waited = false;
  const waiting = app.inject({ method: 'POST', url: '/v1/apply?wait=true', payload: { manifests: [manifest('waits')] } }).then((r) => ((waited = true), r));
  await new Promise((r) => setTimeout(r, 100));
  t.false(waited, 'answered before its placement pass ran');
  runPass?.();
  t.is((await waiting).statusCode, 200);
  const bad = await app.inject({ method: 'POST', url: '/v1/apply?wait=maybe', payload: { manifests: [manifest('x')] } });
  t.is(bad.statusCode, 400);
  await app.close();
  await store.close();
});

/** Resolves to 'hung' if `promise` has not settled after `ms` (a lost wakeup never settles). */
const within = <T>(promise: Promise<T>, ms = 2000): Promise<T | 'hung'> => Promise.race([promise, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);

test('a change made by a caller answered by the last commit, before that commit has wound down, is committed too (no lost wakeup)', async (t) => {
  const writes: string[] = [];
  let doc = 'a';
  const commit = new GroupCommit({ snapshot: () => doc, persist: async (contents) => void writes.push(contents) });
  // The caller's continuation runs in the same turn as the commit's end, before its cleanup did.
  const chained = commit.commit().then(() => {
    doc = 'b';
    return commit.commit();
  });
  t.not(await within(chained), 'hung');
  t.deepEqual(writes, ['a', 'b']);
});
