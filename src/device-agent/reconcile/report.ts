import type { DesiredInstance, InstancePhase, ReportedInstance } from '../../protocol/index.js';
import type { ObservedInstance } from '../runtime/runtime.js';
import { observedKey, type InstanceHealth, type InstanceRecord } from './model.js';

export type Activity = 'pulling' | 'starting' | 'stopping';

export interface ReportInput {
  now: number;
  desired: readonly DesiredInstance[];
  observed: readonly ObservedInstance[];
  records: ReadonlyMap<string, InstanceRecord>;
  health: ReadonlyMap<string, InstanceHealth>;
  /** What an executor is doing right now, per instance id. */
  activity: ReadonlyMap<string, Activity>;
  /** Instances that cannot run here, with the reason. */
  failures: ReadonlyMap<string, string>;
  runtimes: { container: boolean; process: boolean };
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function phaseOf(d: DesiredInstance, current: ObservedInstance | undefined, record: InstanceRecord | undefined, input: ReportInput): InstancePhase {
  const activity = input.activity.get(d.id);
  if (activity) return activity === 'stopping' ? 'stopping' : activity;
  if (input.failures.has(d.id)) return 'failed';
  if (!current) return record?.nextStartAt !== undefined && record.nextStartAt > input.now ? 'crash-loop' : 'pending';
  if (current.state === 'running') return 'running';
  if (current.state === 'created') return 'starting';
  const restarts = d.template.restartPolicy === 'Always' || (d.template.restartPolicy === 'OnFailure' && current.exitCode !== 0);
  if (!restarts) return current.exitCode === 0 ? 'succeeded' : 'failed';
  return record?.nextStartAt !== undefined && record.nextStartAt > input.now ? 'crash-loop' : 'pending';
}

function entry(d: Pick<DesiredInstance, 'id' | 'workload' | 'revision' | 'template'>, current: ObservedInstance | undefined, phase: InstancePhase, input: ReportInput): ReportedInstance {
  const record = input.records.get(d.id);
  const health = current ? input.health.get(observedKey(current)) : undefined;
  const ready = phase === 'running' && (d.template.probes.readiness ? health?.ready === true : true);
  const lastError = input.failures.get(d.id) ?? record?.lastError;
  const exitCode = current?.state === 'exited' ? current.exitCode : record?.lastExitCode;
  const startedAt = current?.startedAt?.getTime() ?? record?.lastStartedAt;
  const nextRestartAt = phase === 'crash-loop' ? iso(record?.nextStartAt) : undefined;
  return {
    id: d.id,
    workload: d.workload,
    revision: d.revision,
    // What the running process started with, not what is desired: the hub's pace of config changes
    // waits for the new one (a report between the new document and the restart shows the old).
    ...(current && record?.configRevision !== undefined ? { configRevision: record.configRevision } : {}),
    runtime: d.template.runtime,
    phase,
    ready,
    restarts: record?.restarts ?? 0,
    ...(startedAt !== undefined ? { startedAt: iso(startedAt) } : {}),
    ...(exitCode !== undefined && exitCode !== null ? { lastExitCode: exitCode } : {}),
    ...(lastError ? { lastError: lastError.slice(0, 2000) } : {}),
    ...(nextRestartAt ? { nextRestartAt } : {}),
    ...(record?.lastLogLines?.length ? { lastLogLines: record.lastLogLines.slice(-20).map((l) => l.slice(0, 500)) } : {}),
    ...(current?.containerId ? { containerId: current.containerId } : {}),
    ...(current?.pid ? { pid: current.pid } : {}),
  };
}

/** What the agent tells the hub about each desired instance, and old revisions still running. */
export function reportInstances(input: ReportInput): ReportedInstance[] {
  const out: ReportedInstance[] = [];
  for (const d of input.desired) {
    const observed = input.observed.filter((o) => o.id === d.id);
    const current = observed.find((o) => o.revision === d.revision);
    out.push(entry(d, current, phaseOf(d, current, input.records.get(d.id), input), input));
    for (const old of observed.filter((o) => o.revision !== d.revision && o.state === 'running')) {
      out.push(entry({ ...d, revision: old.revision }, old, 'running', input));
    }
  }
  return out;
}
