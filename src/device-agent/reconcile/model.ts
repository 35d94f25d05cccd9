import type { DesiredInstance, DeviceEvent } from '../../protocol/index.js';
import type { ObservedInstance } from '../runtime/runtime.js';

/**
 * The agent's own bookkeeping per instance id, kept durably beside the desired document so
 * that restart counts and backoff survive an agent restart (the instance itself is adopted).
 */
export interface InstanceRecord {
  id: string;
  workload: string;
  /**
   * The revision the count and backoff below belong to. A new revision is a new pod in
   * Kubernetes terms: it starts at once, with no restarts and no crash streak.
   * Undefined in records written before revisions were kept.
   */
  revision?: string;
  /** Restarts after the first start, as `kubectl get pods` counts them (crashes only, not `edgepilot restart`). */
  restarts: number;
  /** Consecutive failed runs; drives the crash-loop backoff, reset by a long healthy run. */
  crashStreak: number;
  lastStartedAt?: number;
  lastExitAt?: number;
  lastExitCode?: number | null;
  /** Identifies the exit already accounted for (instance + finish time), so it counts once. */
  lastExitKey?: string;
  /** Earliest time of the next start after a failure. */
  nextStartAt?: number;
  lastError?: string;
  lastLogLines?: string[];
  /** A technician asked for a restart (`edgepilot restart`): not a crash, no backoff. */
  restartRequested?: boolean;
  /** The desired instance's configRevision when it last started: a different one restarts it. */
  configRevision?: string;
}

/** Probe results for a running instance (see probes.ts). */
export interface InstanceHealth {
  /** false once the liveness probe failed failureThreshold times in a row. */
  live: boolean;
  /** undefined before the first readiness result. */
  ready: boolean | undefined;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** A run this long resets the crash streak (Kubernetes: 10 minutes). */
  resetAfterMs: number;
}

export const kubernetesBackoff: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** What `plan` sees: everything is data, the clock included. */
export interface PlanInput {
  now: number;
  desired: readonly DesiredInstance[];
  observed: readonly ObservedInstance[];
  records: ReadonlyMap<string, InstanceRecord>;
  health: ReadonlyMap<string, InstanceHealth>;
  runtimes: { container: boolean; process: boolean };
  backoff: BackoffPolicy;
  /**
   * ConfigMap and Secret files per instance id: the hash they should have (from the desired
   * document) and the hash last written. Absent: no instance mounts any.
   */
  configFiles?: { wanted: ReadonlyMap<string, string>; written: ReadonlyMap<string, string>; unresolved?: ReadonlySet<string> };
}

/** Key of a concrete runtime instance: the same id can exist at two revisions during a replacement. */
export function observedKey(o: Pick<ObservedInstance, 'id' | 'revision'>): string {
  return `${o.id}@${o.revision}`;
}

export type Step =
  /** Create and start `instance` (pulling its image first if needed). */
  | { kind: 'start'; instance: DesiredInstance; reason: 'create' | 'restart' | 'replace' }
  /** `unhealthy`: stopped because its liveness probe failed (the event is a Warning, not Normal). */
  | { kind: 'stop'; id: string; revision: string; graceSeconds: number; reason: string; unhealthy?: true }
  /** `forget`: the instance is gone for good (not replaced): release what it held, drop its record. */
  | { kind: 'remove'; id: string; revision: string; reason: string; forget?: true }
  /** Account for an exit once: streak, backoff deadline, last log lines, an event. */
  | { kind: 'record-exit'; observed: ObservedInstance; crashed: boolean; nextStartAt: number | undefined; crashStreak: number }
  /**
   * Download what `instance` needs (its image) without installing it: a release revision whose
   * install waits for the maintenance window. Downloads may happen any time.
   */
  | { kind: 'ensure-image'; instance: DesiredInstance; reason: 'prefetch' }
  /**
   * Rewrite a running instance's ConfigMap/Secret files in place (each file atomically); then send
   * `signals` (onChange: signal:<NAME>) if any file changed.
   */
  | { kind: 'update-config-files'; instance: DesiredInstance; signals: NodeJS.Signals[] }
  /** Env or a restart-on-change mount read a ConfigMap/Secret that changed: restart (not a crash). */
  | { kind: 'restart-for-config'; id: string; revision: string; workload: string; graceSeconds: number }
  /** Nothing to do before `until`; the loop sleeps until the earliest wait. */
  | { kind: 'wait'; id: string; until: number; reason: string }
  /** The instance cannot run here; reported as failed. */
  | { kind: 'fail'; id: string; workload: string; reason: string };

export type StepKind = Step['kind'];

export type EventSink = (event: Omit<DeviceEvent, 'time'>) => void;

/** A download done ahead of an install, per `id@revision` (see window-hold.ts). */
export interface PrefetchRecord {
  id: string;
  revision: string;
  state: 'downloaded' | 'failed';
  error?: string;
  /** A failed download is tried again from then on. */
  retryAt?: number;
}

export const prefetchKey = (i: { id: string; revision: string }): string => `${i.id}@${i.revision}`;
