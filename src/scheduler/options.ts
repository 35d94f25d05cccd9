// Options shared by every placement decision. `now` is an argument, never read from a clock,
// so that the same inputs always give the same decision (ARCHITECTURE.md: scheduler is pure).

/** Capacity kept back on every device for the agent and the OS (kubelet's system-reserved). */
export interface DeviceReserve {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  /** Free disk that must remain; a device with less free space than this is not chosen. */
  readonly diskBytes: number;
}

export interface SchedulerOptions {
  /** Epoch milliseconds; used for NoExecute toleration expiry. */
  readonly now: number;
  readonly reserve?: Partial<DeviceReserve>;
}

export interface ResolvedOptions {
  readonly now: number;
  readonly reserve: DeviceReserve;
}

/**
 * Defaults sized from ARCHITECTURE.md's measurements: the agent with all its modules is ~98 MB
 * RSS, so 128 MiB memory; 100m CPU and 256 MiB disk keep a board responsive and able to pull.
 */
export const defaultReserve: DeviceReserve = {
  cpuMillis: 100,
  memoryBytes: 128 * 2 ** 20,
  diskBytes: 256 * 2 ** 20,
};

export function resolveOptions(options: SchedulerOptions): ResolvedOptions {
  return { now: options.now, reserve: { ...defaultReserve, ...options.reserve } };
}
