import { createHash } from 'node:crypto';
import type { DesiredInstance, Template } from '../../protocol/index.js';
import { JOB_RUN_OUTPUT_LINES } from '../../protocol/index.js';
import type { InstanceRuntime } from '../runtime/runtime.js';
import { outputTail } from './job-decisions.js';
import { errorMessage } from '../../common/errors.js';

/** How one attempt ended, as the runtime saw it. */
export interface AttemptResult {
  startedAt: number;
  finishedAt: number;
  exitCode?: number;
  signal?: string;
  output: string[];
  /** exited: on its own. deadline/aborted: we stopped it. start-failed: it never ran (message says why). */
  ended: 'exited' | 'deadline' | 'aborted' | 'start-failed';
  message?: string;
}

export interface AttemptRequest {
  /** Runtime instance id: lowercase, unique per attempt. */
  id: string;
  owner: string;
  /** What `owner` names, for events; Job when absent. */
  ownerKind?: 'Job' | 'CronJob';
  template: Template;
  /** Absolute instant after which the attempt is killed. */
  deadlineAt?: number;
  signal: AbortSignal;
  /** Called once the runtime has started it (after any wait for a port): the start notice to the hub. */
  onStarted?: (startedAt: number) => void;
}

export type RunAttempt = (request: AttemptRequest) => Promise<AttemptResult>;

const POLL_MS = 500;

/**
 * Runs one attempt to its end on a runtime (process or docker): start, wait for the exit (the runtime's
 * exit notification, with a poll as a safety net), stop it on deadline or abort, keep the output's tail,
 * remove it. The runtime never restarts it: restartPolicy is forced to Never, retries are the Job's.
 */
export function attemptRunner(runtimes: { container?: InstanceRuntime; process: InstanceRuntime }, now: () => number): RunAttempt {
  return async (request) => {
    const runtime = request.template.runtime === 'container' ? runtimes.container : runtimes.process;
    const startedAt = now();
    if (!runtime) {
      return { startedAt, finishedAt: now(), output: [], ended: 'start-failed', message: `this device has no ${request.template.runtime} runtime` };
    }
    const template = { ...request.template, restartPolicy: 'Never' } as Template;
    const revision = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16);
    const instance: DesiredInstance = { id: request.id, workload: request.owner, revision, template };
    try {
      await runtime.prepare(instance, request.signal);
      await runtime.start(instance, request.signal);
    } catch (err) {
      await runtime.remove(request.id, revision).catch(() => undefined);
      return { startedAt, finishedAt: now(), output: [], ended: 'start-failed', message: `could not start: ${errorMessage(err)}`.slice(0, 500) };
    }
    request.onStarted?.(startedAt);
    const ended = await waitForExit(runtime, request, now);
    let signal: string | undefined;
    if (ended !== 'exited') {
      await runtime.stop(request.id, revision, template.terminationGracePeriodSeconds, new AbortController().signal).catch(() => undefined);
      signal = 'SIGTERM';
    }
    const observed = (await runtime.list().catch(() => [])).find((o) => o.id === request.id);
    const finishedAt = observed?.finishedAt?.getTime() ?? now();
    const exitCode = ended === 'exited' && typeof observed?.exitCode === 'number' ? observed.exitCode : undefined;
    if (ended === 'exited' && exitCode === undefined) signal = 'unknown';
    const lines: string[] = [];
    try {
      for await (const line of runtime.logs(request.id, { tail: JOB_RUN_OUTPUT_LINES })) lines.push(line.text);
    } catch {
      // Output is a courtesy; the exit code is the record.
    }
    await runtime.remove(request.id, revision).catch(() => undefined);
    return {
      startedAt,
      finishedAt,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(signal !== undefined ? { signal } : {}),
      output: outputTail(lines, JOB_RUN_OUTPUT_LINES),
      ended,
    };
  };
}

async function waitForExit(runtime: InstanceRuntime, request: AttemptRequest, now: () => number): Promise<'exited' | 'deadline' | 'aborted'> {
  return new Promise((resolve) => {
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (how: 'exited' | 'deadline' | 'aborted'): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(poll);
      unsubscribe();
      request.signal.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const check = (): void => {
      void runtime
        .list()
        .then((all) => {
          const mine = all.find((o) => o.id === request.id);
          if (!mine || mine.state === 'exited') finish('exited');
        })
        .catch(() => undefined);
    };
    const onAbort = (): void => finish('aborted');
    const unsubscribe = runtime.onExit((id) => {
      if (id === request.id) check();
    });
    const poll = setInterval(check, POLL_MS);
    if (request.deadlineAt !== undefined) timers.push(setTimeout(() => finish('deadline'), Math.max(0, request.deadlineAt - now())));
    if (request.signal.aborted) return finish('aborted');
    request.signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
