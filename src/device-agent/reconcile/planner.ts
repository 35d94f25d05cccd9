import type { DesiredInstance, Template } from '../../protocol/index.js';
import type { ObservedInstance } from '../runtime/runtime.js';
import { backoffDelay, backoffHolds, nextCrashStreak } from './backoff.js';
import { observedKey, type InstanceRecord, type PlanInput, type Step } from './model.js';

/** An instance that holds host ports or devices cannot run twice: replace it stop-first. */
function needsExclusiveHost(template: Template): boolean {
  return template.ports.some((p) => p.hostPort !== undefined) || template.serialDevices.length > 0 || template.peripherals.some((p) => p.exclusive);
}

/** Whether an exit is followed by a restart, per the restart policy (core/v1 RestartPolicy). */
function restartsAfter(template: Template, exitCode: number | null | undefined, requested: boolean): boolean {
  if (requested) return true;
  if (template.restartPolicy === 'Always') return true;
  if (template.restartPolicy === 'OnFailure') return exitCode !== 0;
  return false;
}

/** One exit is identified by the instance's runtime identity and when it finished. */
export function exitKey(o: ObservedInstance): string {
  return `${o.containerId ?? o.pid ?? ''}:${o.finishedAt?.getTime() ?? 'unknown'}`;
}

function removeStep(o: ObservedInstance, reason: string, forget = false): Step {
  return { kind: 'remove', id: o.id, revision: o.revision, reason, ...(forget ? { forget: true as const } : {}) };
}

function stopAndRemove(o: ObservedInstance, graceSeconds: number, reason: string, forget = false): Step[] {
  const steps: Step[] = [];
  if (o.state === 'running') steps.push({ kind: 'stop', id: o.id, revision: o.revision, graceSeconds, reason });
  steps.push(removeStep(o, reason, forget));
  return steps;
}

function planExited(d: DesiredInstance, current: ObservedInstance, record: InstanceRecord | undefined, input: PlanInput): Step[] {
  if (current.state === 'created') {
    // Created but never started (the agent died in between): start it afresh, not a crash.
    return [removeStep(current, 'never started'), { kind: 'start', instance: d, reason: 'create' }];
  }
  const requested = record?.restartRequested === true;
  const restarts = restartsAfter(d.template, current.exitCode, requested);
  if (record?.lastExitKey !== exitKey(current)) {
    const finishedAt = current.finishedAt?.getTime() ?? input.now;
    const runMs = record?.lastStartedAt !== undefined ? finishedAt - record.lastStartedAt : undefined;
    const crashed = !requested && restarts;
    const crashStreak = crashed ? nextCrashStreak(record?.crashStreak ?? 0, runMs, input.backoff) : (record?.crashStreak ?? 0);
    const nextStartAt = !restarts ? undefined : requested ? input.now : finishedAt + backoffDelay(crashStreak, input.backoff);
    return [{ kind: 'record-exit', observed: current, crashed, nextStartAt, crashStreak }];
  }
  if (!restarts) return [];
  if (backoffHolds(record.nextStartAt, input.now, input.backoff)) {
    return [{ kind: 'wait', id: d.id, until: record.nextStartAt, reason: 'crash-loop backoff' }];
  }
  return [removeStep(current, 'restarting'), { kind: 'start', instance: d, reason: 'restart' }];
}

function planDesired(d: DesiredInstance, observed: readonly ObservedInstance[], input: PlanInput): Step[] {
  if (!input.runtimes[d.template.runtime]) {
    return [{ kind: 'fail', id: d.id, workload: d.workload, reason: `this device has no ${d.template.runtime} runtime` }];
  }
  const record = input.records.get(d.id);
  const grace = d.template.terminationGracePeriodSeconds;
  const current = observed.find((o) => o.revision === d.revision);
  const stale = observed.filter((o) => o.revision !== d.revision);
  const replaced = `replaced by revision ${d.revision.slice(0, 8)}`;

  if (!current) {
    const steps: Step[] = [];
    const exclusive = needsExclusiveHost(d.template);
    // Exited old revisions go at once; running ones stay until the new one is ready, unless
    // both cannot coexist on this host.
    for (const s of stale) if (s.state !== 'running' || exclusive) steps.push(...stopAndRemove(s, grace, replaced));
    // The backoff of an older revision (a bad image, a missing command) is not this one's.
    const newRevision = record?.revision !== undefined && record.revision !== d.revision;
    if (!newRevision && backoffHolds(record?.nextStartAt, input.now, input.backoff)) {
      return [...steps, { kind: 'wait', id: d.id, until: record.nextStartAt, reason: record.lastError ?? 'backoff' }];
    }
    const reason = stale.length > 0 || newRevision ? 'replace' : record?.lastStartedAt !== undefined ? 'restart' : 'create';
    return [...steps, { kind: 'start', instance: d, reason }];
  }

  if (current.state !== 'running') return planExited(d, current, record, input);

  const health = input.health.get(observedKey(current));
  if (record?.restartRequested) return [{ kind: 'stop', id: d.id, revision: d.revision, graceSeconds: grace, reason: 'restart requested' }];
  if (health && !health.live) return [{ kind: 'stop', id: d.id, revision: d.revision, graceSeconds: grace, reason: 'liveness probe failed', unhealthy: true }];
  const config = planConfigChange(d, record, input);
  if (config.length > 0) return config;
  const ready = d.template.probes.readiness ? health?.ready === true : true;
  return ready ? stale.flatMap((s) => stopAndRemove(s, grace, replaced)) : [];
}

/** `signal:HUP` → SIGHUP. */
function signalOf(onChange: string | undefined): NodeJS.Signals | undefined {
  if (!onChange?.startsWith('signal:')) return undefined;
  const name = onChange.slice('signal:'.length);
  return (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
}

/**
 * A running instance whose ConfigMaps or Secrets changed: a new configRevision (env, or a mount
 * with onChange: restart) restarts it; otherwise changed files are rewritten in place (and the
 * onChange signals sent).
 */
function planConfigChange(d: DesiredInstance, record: InstanceRecord | undefined, input: PlanInput): Step[] {
  // What it reads is not here (deleted at the hub, or not sent yet): it keeps running as it is.
  if (input.configFiles?.unresolved?.has(d.id)) return [];
  if (record !== undefined && (record.configRevision ?? '') !== (d.configRevision ?? '')) {
    return [{ kind: 'restart-for-config', id: d.id, revision: d.revision, workload: d.workload, graceSeconds: d.template.terminationGracePeriodSeconds }];
  }
  const wanted = input.configFiles?.wanted.get(d.id);
  if (wanted === undefined || wanted === input.configFiles?.written.get(d.id)) return [];
  const signals = [...new Set(d.template.volumes.flatMap((v) => (v.configMap !== undefined || v.secret !== undefined ? [signalOf(v.onChange)] : [])).filter((s) => s !== undefined))];
  return [{ kind: 'update-config-files', instance: d, signals }];
}

/**
 * current + desired → steps. Pure and synchronous: the clock, probe results and bookkeeping
 * are all in the input. An empty plan (or only waits) means converged.
 */
export function plan(input: PlanInput): Step[] {
  const steps: Step[] = [];
  const desiredIds = new Set(input.desired.map((d) => d.id));
  const observedById = new Map<string, ObservedInstance[]>();
  for (const o of input.observed) {
    const list = observedById.get(o.id) ?? [];
    list.push(o);
    observedById.set(o.id, list);
  }
  for (const o of input.observed) {
    if (!desiredIds.has(o.id)) steps.push(...stopAndRemove(o, 10, 'no longer desired', true));
  }
  for (const d of input.desired) steps.push(...planDesired(d, observedById.get(d.id) ?? [], input));
  return steps;
}

/** The earliest `wait` deadline, when the loop must look again even if nothing happens. */
export function nextWake(steps: readonly Step[]): number | undefined {
  let earliest: number | undefined;
  for (const s of steps) if (s.kind === 'wait' && (earliest === undefined || s.until < earliest)) earliest = s.until;
  return earliest;
}
