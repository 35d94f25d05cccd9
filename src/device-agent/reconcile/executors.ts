import type { Logger } from '../../common/log.js';
import type { DesiredInstance } from '../../protocol/index.js';
import type { InstanceRuntime, LogLine, ObservedInstance } from '../runtime/runtime.js';
import { backoffDelay } from './backoff.js';
import { prefetchKey, type BackoffPolicy, type EventSink, type InstanceRecord, type PrefetchRecord, type Step, type StepKind } from './model.js';
import { PREFETCH_RETRY_MS } from './window-hold.js';
import type { Activity } from './report.js';
import { errorMessage } from '../../common/errors.js';

/** A step kind without an executor does not compile: the map is checked against the Step union. */
export type Executors = { [K in StepKind]: (step: Extract<Step, { kind: K }>, signal: AbortSignal) => Promise<void> };

export interface ExecutorContext {
  /** Adds what the agent gives every instance (the metrics file) before it starts. */
  decorate(instance: DesiredInstance): Promise<DesiredInstance>;
  release(instanceId: string): Promise<void>;
  runtimeFor(kind: 'container' | 'process'): InstanceRuntime | undefined;
  /** The runtime that holds instance `id` (from the last observation). */
  runtimeOf(id: string, revision: string): InstanceRuntime | undefined;
  records: Map<string, InstanceRecord>;
  saveRecords(): Promise<void>;
  /**
   * An instance reached running (what the runtime answered to `start`). The reconciler reports
   * it at once rather than after the whole pass.
   */
  onStarted?(observed: ObservedInstance): void;
  /** A runtime instance is gone (removed), so a report made before the next observation leaves it out. */
  onRemoved?(id: string, revision: string): void;
  activity: Map<string, Activity>;
  failures: Map<string, string>;
  /** Downloads done ahead of installs (kept in memory: after a restart the runtime's check is quick). */
  prefetched: Map<string, PrefetchRecord>;
  /** ConfigMap and Secret files (src/device-agent/config-objects); absent: nothing mounts any. */
  configFiles?: { update(instance: DesiredInstance): Promise<boolean> };
  event: EventSink;
  now: () => number;
  backoff: BackoffPolicy;
  log: Logger;
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

async function lastLines(runtime: InstanceRuntime, id: string, count: number): Promise<string[]> {
  const lines: string[] = [];
  const signal = AbortSignal.timeout(2000);
  try {
    for await (const line of runtime.logs(id, { tail: count, follow: false, signal }) as AsyncIterable<LogLine>) lines.push(line.text);
  } catch {
    // Logs are a courtesy for `describe`; never let them block a restart.
  }
  return lines.slice(-count);
}

function recordOf(ctx: ExecutorContext, id: string, workload: string): InstanceRecord {
  let record = ctx.records.get(id);
  if (!record) {
    record = { id, workload, restarts: 0, crashStreak: 0 };
    ctx.records.set(id, record);
  }
  return record;
}

export function createExecutors(ctx: ExecutorContext): Executors {
  return {
    async start(step, signal) {
      const instance = await ctx.decorate(step.instance);
      const runtime = ctx.runtimeFor(instance.template.runtime);
      const record = recordOf(ctx, instance.id, instance.workload);
      const object = { kind: 'Workload', name: instance.workload };
      if (!runtime) throw new Error(`no ${instance.template.runtime} runtime`);
      if (record.revision !== undefined && record.revision !== instance.revision) {
        // A new revision starts afresh: an old revision's failures must not delay or count against it.
        Object.assign(record, { restarts: 0, crashStreak: 0, nextStartAt: undefined, lastError: undefined });
      }
      // A record from before revisions were kept belongs to the revision it is next used for.
      record.revision = instance.revision;
      // The config versions this start reads (decorate wrote their files and env just above).
      if (step.instance.configRevision !== undefined) record.configRevision = step.instance.configRevision;
      else delete record.configRevision;
      try {
        ctx.activity.set(instance.id, 'pulling');
        await runtime.prepare(instance, signal, (message) => ctx.log.info(`${instance.id}: ${message}`));
        ctx.activity.set(instance.id, 'starting');
        const started = await runtime.start(instance, signal);
        // `edgepilot restart` is not a crash: RESTARTS counts only what the restart policy did.
        if (step.reason === 'restart' && record.restartRequested !== true) record.restarts += 1;
        if (step.reason === 'replace') Object.assign(record, { restarts: 0, crashStreak: 0 });
        Object.assign(record, { lastStartedAt: ctx.now(), nextStartAt: undefined, lastError: undefined, restartRequested: false });
        ctx.failures.delete(instance.id);
        ctx.activity.delete(instance.id);
        ctx.onStarted?.(started);
        ctx.event({ type: 'Normal', reason: 'Started', message: `${instance.id} started (${step.reason}, revision ${instance.revision.slice(0, 8)}${started.containerId ? `, container ${started.containerId.slice(0, 12)}` : started.pid ? `, pid ${started.pid}` : ''})`, object });
      } catch (err) {
        if (signal.aborted) throw err;
        const message = errorMessage(err);
        record.crashStreak += 1;
        const delay = backoffDelay(record.crashStreak, ctx.backoff);
        Object.assign(record, { lastError: message, nextStartAt: ctx.now() + delay });
        ctx.event({ type: 'Warning', reason: 'Failed', message: `${instance.id} could not start: ${message}; retrying in ${seconds(delay)}`, object });
        ctx.log.warn(`${instance.id}: start failed: ${message}`);
      } finally {
        ctx.activity.delete(instance.id);
        await ctx.saveRecords();
      }
    },

    async stop(step, signal) {
      const runtime = ctx.runtimeOf(step.id, step.revision);
      if (!runtime) return;
      ctx.activity.set(step.id, 'stopping');
      try {
        await runtime.stop(step.id, step.revision, step.graceSeconds, signal);
        const record = ctx.records.get(step.id);
        ctx.event({ type: step.unhealthy ? 'Warning' : 'Normal', reason: 'Killing', message: `stopping ${step.id}: ${step.reason}`, ...(record ? { object: { kind: 'Workload', name: record.workload } } : {}) });
      } finally {
        ctx.activity.delete(step.id);
      }
    },

    async remove(step) {
      const runtime = ctx.runtimeOf(step.id, step.revision);
      await runtime?.remove(step.id, step.revision);
      ctx.onRemoved?.(step.id, step.revision);
      if (step.forget) {
        await ctx.release(step.id).catch((err: unknown) => ctx.log.warn(`${step.id}: ${errorMessage(err)}`));
        ctx.records.delete(step.id);
        ctx.failures.delete(step.id);
        await ctx.saveRecords();
      }
    },

    async 'record-exit'(step) {
      const o = step.observed;
      const runtime = ctx.runtimeOf(o.id, o.revision);
      const record = recordOf(ctx, o.id, o.workload);
      const lines = runtime ? await lastLines(runtime, o.id, 10) : [];
      Object.assign(record, {
        revision: o.revision,
        lastExitAt: o.finishedAt?.getTime() ?? ctx.now(),
        lastExitCode: o.exitCode ?? null,
        lastExitKey: `${o.containerId ?? o.pid ?? ''}:${o.finishedAt?.getTime() ?? 'unknown'}`,
        crashStreak: step.crashStreak,
        nextStartAt: step.nextStartAt,
        lastLogLines: lines,
      });
      const code = o.exitCode === null || o.exitCode === undefined ? 'an unknown code' : `code ${o.exitCode}${o.oomKilled ? ' (out of memory)' : ''}`;
      const object = { kind: 'Workload', name: o.workload };
      if (record.restartRequested) ctx.event({ type: 'Normal', reason: 'Restarting', message: `${o.id} stopped on request; starting again`, object });
      else if (step.crashed && step.nextStartAt !== undefined) {
        // The backoff delay itself (from the exit), not what is left of it by now: the log read
        // above can take a while on a busy board.
        const delay = step.nextStartAt - (o.finishedAt?.getTime() ?? ctx.now());
        ctx.event({ type: 'Warning', reason: 'BackOff', message: `${o.id} exited with ${code}; restarting in ${seconds(Math.max(0, delay))}`, object });
      } else ctx.event({ type: o.exitCode === 0 ? 'Normal' : 'Warning', reason: o.exitCode === 0 ? 'Completed' : 'Failed', message: `${o.id} exited with ${code}`, object });
      await ctx.saveRecords();
    },

    async 'ensure-image'(step, signal) {
      const { instance } = step;
      const runtime = ctx.runtimeFor(instance.template.runtime);
      const key = prefetchKey(instance);
      const object = { kind: 'Workload', name: instance.workload };
      const what = instance.template.runtime === 'container' ? `image ${instance.template.image}` : 'its program';
      try {
        if (!runtime) throw new Error(`no ${instance.template.runtime} runtime`);
        await runtime.prepare(instance, signal, (message) => ctx.log.info(`${instance.id} (prefetch): ${message}`));
        ctx.prefetched.set(key, { id: instance.id, revision: instance.revision, state: 'downloaded' });
        ctx.event({ type: 'Normal', reason: 'Downloaded', message: `${instance.id}: ${what} of revision ${instance.revision.slice(0, 8)} is here; the install waits for the maintenance window`, object });
      } catch (err) {
        if (signal.aborted) throw err;
        const message = errorMessage(err);
        ctx.prefetched.set(key, { id: instance.id, revision: instance.revision, state: 'failed', error: message.slice(0, 500), retryAt: ctx.now() + PREFETCH_RETRY_MS });
        ctx.event({ type: 'Warning', reason: 'DownloadFailed', message: `${instance.id}: downloading ${what} of revision ${instance.revision.slice(0, 8)} ahead of its window failed: ${message}; retrying in ${seconds(PREFETCH_RETRY_MS)}`, object });
      }
    },

    async 'update-config-files'(step) {
      const { instance } = step;
      const object = { kind: 'Workload', name: instance.workload };
      if (!ctx.configFiles) return;
      const changed = await ctx.configFiles.update(instance);
      if (!changed) return;
      ctx.event({ type: 'Normal', reason: 'ConfigUpdated', message: `${instance.id}: mounted config files updated in place${step.signals.length > 0 ? `; sending ${step.signals.join(', ')}` : ''}`, object });
      if (step.signals.length === 0) return;
      const runtime = ctx.runtimeOf(instance.id, instance.revision);
      for (const sig of step.signals) {
        try {
          if (!runtime?.signal) throw new Error('this runtime cannot signal instances');
          await runtime.signal(instance.id, instance.revision, sig);
        } catch (err) {
          ctx.event({ type: 'Warning', reason: 'SignalFailed', message: `${instance.id}: ${sig} after a config change failed (${errorMessage(err)})`, object });
        }
      }
    },

    async 'restart-for-config'(step, signal) {
      const record = recordOf(ctx, step.id, step.workload);
      // Requested, so the exit is not a crash: no backoff, not counted in RESTARTS.
      record.restartRequested = true;
      await ctx.saveRecords();
      ctx.event({ type: 'Normal', reason: 'ConfigChanged', message: `restarting ${step.id}: a ConfigMap or Secret it reads at start changed`, object: { kind: 'Workload', name: step.workload } });
      await ctx.runtimeOf(step.id, step.revision)?.stop(step.id, step.revision, step.graceSeconds, signal);
    },

    async wait() {
      // Nothing to do now; the loop sleeps until the earliest wait.
    },

    async fail(step) {
      if (ctx.failures.get(step.id) === step.reason) return;
      ctx.failures.set(step.id, step.reason);
      ctx.event({ type: 'Warning', reason: 'FailedCreate', message: `${step.id}: ${step.reason}`, object: { kind: 'Workload', name: step.workload } });
    },
  };
}
