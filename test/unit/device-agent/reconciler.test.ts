// The agent's Reconciler through its public API only (setDesired, start, stop, kick, the reports it
// publishes), with a fixed clock, an in-memory runtime and in-memory local state. The contract
// holds whether instances are started one by one or several at once.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import type { LocalState } from '../../../src/device-agent/reconcile/local-state.js';
import { kubernetesBackoff, type InstanceRecord } from '../../../src/device-agent/reconcile/model.js';
import { Reconciler } from '../../../src/device-agent/reconcile/reconciler.js';
import type { InstanceRuntime, ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';
import { templateSchema, type DesiredInstance, type DesiredState, type DeviceEvent, type ReportedState } from '../../../src/protocol/index.js';

const T0 = Date.parse('2026-06-01T08:00:00Z');

function instance(id: string, revision = 'aaaa1111', extra: Record<string, unknown> = {}): DesiredInstance {
  return { id, workload: id.replace(/-\d+$/, ''), revision, template: templateSchema.parse({ runtime: 'process', command: ['sleep', '100'], ...extra }) };
}

function desired(generation: number, instances: DesiredInstance[]): DesiredState {
  return { generation, issuedAt: new Date(T0).toISOString(), instances };
}

/** Processes in memory. Only what a reconciler without probes or metrics needs; anything else throws. */
class MemoryRuntime implements InstanceRuntime {
  readonly kind = 'process' as const;
  readonly instances = new Map<string, ObservedInstance>();
  readonly calls: string[] = [];
  private readonly exitListeners = new Set<(id: string) => void>();
  private pid = 1000;

  constructor(private readonly clock: { now: number }) {}

  private key(id: string, revision: string): string {
    return `${id}@${revision}`;
  }

  async list(): Promise<ObservedInstance[]> {
    return [...this.instances.values()].map((o) => ({ ...o }));
  }

  async prepare(i: DesiredInstance): Promise<void> {
    this.calls.push(`prepare ${i.id}@${i.revision}`);
  }

  async start(i: DesiredInstance): Promise<ObservedInstance> {
    const key = this.key(i.id, i.revision);
    if (this.instances.get(key)?.state === 'running') throw new Error(`MemoryRuntime: ${key} already runs`);
    this.calls.push(`start ${key}`);
    const o: ObservedInstance = { id: i.id, workload: i.workload, revision: i.revision, runtime: 'process', state: 'running', startedAt: new Date(this.clock.now), pid: this.pid++ };
    this.instances.set(key, o);
    return { ...o };
  }

  async stop(id: string, revision: string): Promise<void> {
    this.calls.push(`stop ${this.key(id, revision)}`);
    const o = this.instances.get(this.key(id, revision));
    if (o && o.state === 'running') Object.assign(o, { state: 'exited', exitCode: 0, finishedAt: new Date(this.clock.now) });
  }

  async remove(id: string, revision: string): Promise<void> {
    this.calls.push(`remove ${this.key(id, revision)}`);
    this.instances.delete(this.key(id, revision));
  }

  /** The process died on its own. */
  crash(id: string, revision: string, exitCode: number): void {
    const o = this.instances.get(this.key(id, revision));
    if (!o) throw new Error(`MemoryRuntime: no ${id}@${revision} to crash`);
    Object.assign(o, { state: 'exited', exitCode, finishedAt: new Date(this.clock.now) });
    for (const l of this.exitListeners) l(id);
  }

  async *logs(): AsyncIterable<never> {
    // The crash path reads the last lines; there are none here.
  }

  exec(): never {
    throw new Error('MemoryRuntime: exec is not set up in this test');
  }

  probeHost(): never {
    throw new Error('MemoryRuntime: probeHost is not set up in this test');
  }

  usage(): never {
    throw new Error('MemoryRuntime: usage is not set up in this test');
  }

  onExit(listener: (id: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  async close(): Promise<void> {}
}

type StateFake = Pick<LocalState, 'loadDesired' | 'saveDesired' | 'loadRecords' | 'saveRecords'>;

function rig(stored?: DesiredState) {
  const clock = { now: T0 };
  const runtime = new MemoryRuntime(clock);
  const order: string[] = [];
  const saved: { desired: DesiredState | undefined; records: InstanceRecord[] } = { desired: stored, records: [] };
  /** Set to hold a save of the desired document until the test lets it finish. */
  const saves: { hold?: (generation: number) => Promise<void> } = {};
  const state: StateFake = {
    loadDesired: async () => saved.desired,
    saveDesired: async (d) => {
      await saves.hold?.(d.generation);
      order.push(`save desired ${d.generation}`);
      saved.desired = structuredClone(d);
    },
    loadRecords: async () => new Map(),
    saveRecords: async (records) => void (saved.records = structuredClone([...records.values()])),
  };
  const reports: ReportedState[] = [];
  const events: Omit<DeviceEvent, 'time'>[] = [];
  const released: string[] = [];
  let onReport: () => void = () => undefined;
  const reconciler = new Reconciler({
    decorate: async (i) => i,
    release: async (id) => void released.push(id),
    runtimes: { process: runtime },
    state: state as LocalState,
    publishReport: async (report) => {
      reports.push(structuredClone(report));
      onReport();
      return true;
    },
    event: (e) => events.push(e),
    now: () => clock.now,
    backoff: kubernetesBackoff,
    log: createLogger('reconcile', 'error', () => undefined),
    resyncMs: 10,
  });
  /** Resolves with the first report (already sent or coming) that satisfies `accept`; fails after many reports without one. */
  const reportWhere = (accept: (r: ReportedState) => boolean): Promise<ReportedState> =>
    new Promise((resolve, reject) => {
      const found = reports.find(accept);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no such report; last: ${JSON.stringify(reports.at(-1))}`)), 5_000);
      onReport = () => {
        const hit = reports.find(accept);
        if (!hit) return;
        clearTimeout(timer);
        onReport = () => undefined;
        resolve(hit);
      };
    });
  return { clock, runtime, reconciler, reports, events, released, order, saved, saves, reportWhere };
}

const phases = (r: ReportedState): string[] => r.instances.map((i) => `${i.id}@${i.revision}:${i.phase}:${i.ready ? 'ready' : 'not-ready'}:${i.restarts}`).sort();

test('a desired document is stored, then every instance is started and reported running and ready at its generation', async (t) => {
  const r = rig();
  await r.reconciler.start();
  await r.reconciler.setDesired(desired(1, [instance('web-0'), instance('web-1'), instance('probe')]));
  const report = await r.reportWhere((x) => x.observedGeneration === 1 && x.instances.length === 3 && x.instances.every((i) => i.phase === 'running'));
  t.deepEqual(phases(report), ['probe@aaaa1111:running:ready:0', 'web-0@aaaa1111:running:ready:0', 'web-1@aaaa1111:running:ready:0']);
  t.true(report.instances.every((i) => i.startedAt === new Date(T0).toISOString() && i.pid !== undefined));
  t.deepEqual(r.order, ['save desired 1']);
  t.deepEqual(r.saved.desired?.generation, 1);
  t.deepEqual(r.runtime.calls.filter((c) => c.startsWith('start')).sort(), ['start probe@aaaa1111', 'start web-0@aaaa1111', 'start web-1@aaaa1111']);
  t.is(r.reconciler.generation, 1);
  await r.reconciler.stop();
});

test('an older or equal generation changes nothing; a newer one replaces the revision and removes what is no longer desired', async (t) => {
  const r = rig();
  await r.reconciler.start();
  await r.reconciler.setDesired(desired(2, [instance('web-0'), instance('gone-0')]));
  await r.reportWhere((x) => x.observedGeneration === 2 && x.instances.filter((i) => i.phase === 'running').length === 2);
  await r.reconciler.setDesired(desired(1, [instance('other-0')]));
  await r.reconciler.setDesired(desired(2, [instance('other-0')]));
  t.deepEqual(r.order, ['save desired 2'], 'neither the older nor the equal generation was stored');
  t.is(r.reconciler.generation, 2);

  await r.reconciler.setDesired(desired(3, [instance('web-0', 'bbbb2222')]));
  const report = await r.reportWhere((x) => x.observedGeneration === 3 && x.instances.length === 1 && x.instances[0]?.revision === 'bbbb2222' && x.instances[0].phase === 'running');
  t.deepEqual(phases(report), ['web-0@bbbb2222:running:ready:0']);
  t.false(r.runtime.instances.has('web-0@aaaa1111'), 'the old revision was stopped and removed');
  t.false(r.runtime.instances.has('gone-0@aaaa1111'));
  t.true(r.released.includes('gone-0'), 'an instance no longer desired is released');
  t.true(r.runtime.calls.indexOf('stop gone-0@aaaa1111') < r.runtime.calls.indexOf('remove gone-0@aaaa1111'));
  await r.reconciler.stop();
});

test('two documents arriving together are taken in turn: an older one whose save ends last does not replace the newer', async (t) => {
  const r = rig();
  await r.reconciler.start();
  const finish = new Map<number, () => void>();
  r.saves.hold = (generation) => new Promise((resolve) => finish.set(generation, resolve));
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const newer = r.reconciler.setDesired(desired(3, [instance('web-0', 'bbbb2222')]));
  const older = r.reconciler.setDesired(desired(2, [instance('web-0')]));
  await turn();
  // The newer document's save ends first (fsyncs in the thread pool keep no order), the older one's after.
  finish.get(3)?.();
  await turn();
  finish.get(2)?.();
  await Promise.all([newer, older]);
  t.is(r.reconciler.generation, 3);
  t.is(r.saved.desired?.generation, 3);
  t.deepEqual(r.order, ['save desired 3'], 'the older generation was not stored');
  await r.reconciler.stop();
});

test('a crash is reported as crash-loop with its restart time; after the backoff (on the injected clock) it restarts and counts one restart', async (t) => {
  const r = rig();
  await r.reconciler.start();
  await r.reconciler.setDesired(desired(1, [instance('web-0')]));
  await r.reportWhere((x) => x.instances[0]?.phase === 'running');
  r.clock.now = T0 + 5_000;
  r.runtime.crash('web-0', 'aaaa1111', 3);
  const looping = await r.reportWhere((x) => x.instances[0]?.phase === 'crash-loop');
  t.is(looping.instances[0]?.lastExitCode, 3);
  t.is(looping.instances[0]?.nextRestartAt, new Date(T0 + 5_000 + kubernetesBackoff.baseMs).toISOString());
  t.true(r.events.some((e) => e.reason === 'BackOff'));
  // Nothing happens before the deadline however often the loop looks.
  const startsBefore = r.runtime.calls.filter((c) => c.startsWith('start')).length;
  r.clock.now = T0 + 5_000 + kubernetesBackoff.baseMs - 1;
  r.reconciler.kick();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(r.runtime.calls.filter((c) => c.startsWith('start')).length, startsBefore);
  r.clock.now = T0 + 5_000 + kubernetesBackoff.baseMs;
  r.reconciler.kick();
  const restarted = await r.reportWhere((x) => x.instances[0]?.phase === 'running' && x.instances[0].restarts === 1);
  t.deepEqual(phases(restarted), ['web-0@aaaa1111:running:ready:1']);
  await r.reconciler.stop();
});

test('on start, the stored desired document is applied without the hub', async (t) => {
  const r = rig(desired(7, [instance('web-0')]));
  await r.reconciler.start();
  t.is(r.reconciler.generation, 7);
  const report = await r.reportWhere((x) => x.observedGeneration === 7 && x.instances[0]?.phase === 'running');
  t.deepEqual(phases(report), ['web-0@aaaa1111:running:ready:0']);
  await r.reconciler.stop();
});

test('an instance already running at its revision (adopted after an agent restart) is not started again', async (t) => {
  const r = rig(desired(4, [instance('web-0')]));
  await r.runtime.start(instance('web-0'));
  r.runtime.calls.length = 0;
  await r.reconciler.start();
  await r.reportWhere((x) => x.observedGeneration === 4 && x.instances[0]?.phase === 'running');
  t.deepEqual(r.runtime.calls, []);
  await r.reconciler.stop();
});

test('an instance for a runtime this device lacks is reported failed with the reason', async (t) => {
  const r = rig();
  await r.reconciler.start();
  const container = { ...instance('cam-0'), template: templateSchema.parse({ runtime: 'container', image: 'local/busybox:latest' }) };
  await r.reconciler.setDesired(desired(1, [container]));
  const report = await r.reportWhere((x) => x.instances[0]?.phase === 'failed');
  t.regex(report.instances[0]?.lastError ?? '', /no container runtime/);
  t.deepEqual(r.runtime.calls, []);
  await r.reconciler.stop();
});
