import type { DesiredInstance } from '../../protocol/index.js';

/**
 * The one interface the agent's reconciler drives. Two implementations: containers through
 * Docker (dockerode) and plain processes (child_process) for boards without Docker. Both are
 * picked by the composition root from what the device has.
 *
 * Restarting is the agent's job, never the runtime's: containers are created without a
 * Docker restart policy, processes are not respawned here. That keeps backoff, counting and
 * reporting in one place.
 */

/** What a runtime observes of one instance it owns. */
export interface ObservedInstance {
  /** The desired instance id (`DesiredInstance.id`). */
  id: string;
  workload: string;
  /** The revision it was created from (hash of the template). */
  revision: string;
  runtime: 'container' | 'process';
  state: 'created' | 'running' | 'exited';
  /** Known for instances that exited (null when it cannot be known, e.g. an adopted process). */
  exitCode?: number | null;
  oomKilled?: boolean;
  startedAt?: Date;
  finishedAt?: Date;
  containerId?: string;
  pid?: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Without the trailing newline. */
  text: string;
  time?: Date;
}

export interface LogOptions {
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

export interface UsageSample {
  cpuPercent: number;
  memoryBytes: number;
}

export interface InstanceRuntime {
  readonly kind: 'container' | 'process';

  /** Every instance this agent owns (containers by label, processes by pid file), running or not. */
  list(): Promise<ObservedInstance[]>;

  /** Makes what `start` needs available (image present, pulled if a registry is configured). */
  prepare(instance: DesiredInstance, signal: AbortSignal, onProgress?: (message: string) => void): Promise<void>;

  /** Creates and starts a new instance; an existing one of the same id and revision is an error. */
  start(instance: DesiredInstance, signal: AbortSignal): Promise<ObservedInstance>;

  /** Stops gracefully (SIGTERM), then kills after the grace period. Stopping a stopped instance is fine. */
  stop(id: string, revision: string, graceSeconds: number, signal: AbortSignal): Promise<void>;

  /** Sends `signalName` (e.g. SIGHUP) to a running instance: a mounted ConfigMap or Secret changed (onChange: signal:<NAME>). Optional: without it the instance is restarted instead. */
  signal?(id: string, revision: string, signalName: NodeJS.Signals): Promise<void>;

  /** Removes a stopped instance (its logs go with it; named volumes stay). */
  remove(id: string, revision: string): Promise<void>;

  logs(id: string, options: LogOptions): AsyncIterable<LogLine>;

  /** Runs a command inside the instance (exec probes). */
  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult>;

  /** Where HTTP/TCP probes reach the instance (host network or the container's address). */
  probeHost(id: string): Promise<string>;

  usage(id: string): Promise<UsageSample | undefined>;

  /** Called when an instance exits, so the agent reacts at once rather than on its next poll. */
  onExit(listener: (id: string) => void): () => void;

  close(): Promise<void>;
}
