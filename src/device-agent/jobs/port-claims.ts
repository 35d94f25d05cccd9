import type { DeviceEvent, Template } from '../../protocol/index.js';
import { describeHolders, PortLockAbortedError, type PortLocks } from '../gateway/port-lock.js';
import type { AttemptResult, RunAttempt } from './attempt.js';

/**
 * Jobs and flashing share the agent's port lock: an attempt whose template claims a serial port (by
 * `serialDevices`) or an MCU (by `peripherals: [{ kind: mcu, mcu: <model> }]`, meaning the gateway ports
 * of such MCUs) starts only when it holds those ports, and keeps them until it has ended. While a Job holds
 * an MCU's port the gateway closes it (telemetry pauses), so the Job's program can open the tty alone.
 */
export interface PortClaimDeps {
  locks: PortLocks;
  /** Gateway ports of attached MCUs of a model (any model when undefined); none on an agent without MCUs. */
  mcuPorts(model: string | undefined): string[];
  /** Close the gateway's MCU ports among `paths` (canonical); the returned function gives them back. */
  handOver?(paths: readonly string[]): Promise<() => void>;
  event(event: Omit<DeviceEvent, 'time'>): void;
  now(): number;
}

/** The host paths a template claims: serialDevices (`host[:container]`) and the ports of claimed MCUs. */
export function claimedPorts(template: Template, mcuPorts: PortClaimDeps['mcuPorts']): string[] {
  const paths = template.serialDevices.map((entry) => {
    const colon = entry.indexOf(':');
    return colon < 0 ? entry : entry.slice(0, colon);
  });
  for (const peripheral of template.peripherals) if (peripheral.kind === 'mcu') paths.push(...mcuPorts(peripheral.mcu));
  return [...new Set(paths)];
}

/**
 * An attempt runner that takes the port lock first. Waiting counts against the deadline (a Job whose
 * deadline passes while a flash holds its port ends `deadline`) and an abort (Replace, agent stopping)
 * ends the wait. The attempt's start is when it got the port: the run record shows when it really ran.
 */
export function withPortLock(attempt: RunAttempt, deps: PortClaimDeps): RunAttempt {
  return async (request) => {
    const paths = claimedPorts(request.template, deps.mcuPorts);
    if (paths.length === 0) return attempt(request);
    const kind = request.ownerKind ?? 'Job';
    const object = { kind, name: request.owner };
    const waitAbort = new AbortController();
    const onAbort = (): void => waitAbort.abort('aborted');
    request.signal.addEventListener('abort', onAbort, { once: true });
    if (request.signal.aborted) waitAbort.abort('aborted');
    const timer = request.deadlineAt !== undefined ? setTimeout(() => waitAbort.abort('deadline'), Math.max(0, request.deadlineAt - deps.now())) : undefined;
    const waitStart = deps.now();
    let waitedFor = '';
    try {
      const lease = await deps.locks.acquire(paths, { kind: 'job', name: `${kind.toLowerCase()} ${request.owner}` }, {
        signal: waitAbort.signal,
        onWait: (holders) => {
          waitedFor = describeHolders(holders);
          deps.event({ type: 'Normal', reason: 'WaitingForPort', message: `${request.id}: waits for ${waitedFor} to release ${paths.join(', ')}`, object });
        },
      });
      let giveBack: (() => void) | undefined;
      try {
        if (waitedFor) deps.event({ type: 'Normal', reason: 'PortAcquired', message: `${request.id}: got ${lease.paths.join(', ')} after waiting ${Math.round((deps.now() - waitStart) / 1000)} s for ${waitedFor}`, object });
        giveBack = await deps.handOver?.(lease.paths);
        return await attempt(request);
      } finally {
        giveBack?.();
        lease.release();
      }
    } catch (err) {
      if (!(err instanceof PortLockAbortedError)) throw err;
      const at = deps.now();
      const byDeadline = waitAbort.signal.reason === 'deadline';
      const result: AttemptResult = {
        startedAt: at,
        finishedAt: at,
        output: [],
        ended: byDeadline ? 'deadline' : 'aborted',
        message: `never started: ${paths.join(', ')} still held by ${waitedFor || 'another holder'}`,
      };
      return result;
    } finally {
      if (timer) clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    }
  };
}
