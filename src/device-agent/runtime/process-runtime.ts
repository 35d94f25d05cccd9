import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { DesiredInstance, ProcessTemplate } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from './runtime.js';
import { groupIsOurs, killGroupRemnants, stopProcessGroup } from './process/group.js';
import { observedFromRecord, readRecord, writeRecord, type InstanceRecord } from './process/instance-record.js';
import { foldersInFlux, settleUntrackedFolder } from './process/interrupted-start.js';
import { instanceEnv, launchProcess, prepareVolumes, type Launched } from './process/launch.js';
import { processLogLines, rotateIfLarger } from './process/log-files.js';
import { execOnHost, exitCodeOf } from './process/host-exec.js';
import { isSameLiveProcess, readProcStat } from './process/proc.js';
import { sampleGroupUsage, type CpuCounters } from './process/usage.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

export interface ProcessRuntimeOptions {
  stateDir: string;
  deviceId: string;
  log: Logger;
  /** Per stream (stdout, stderr); one rotated file is kept besides. Default 1 MiB. */
  maxLogBytes?: number;
  /**
   * Variables of an instance that came from a Secret: never written to its record on disk (the
   * record keeps env for exec probes after adoption; such probes then run without them).
   */
  privateEnv?(instanceId: string): ReadonlySet<string>;
  /**
   * Tests only: awaited at the points of `start` where an agent's death must leave no program
   * it cannot adopt (after the spawn of the gate, after its record is on disk).
   */
  startFaultPoint?(point: 'spawned' | 'recorded'): Promise<void> | void;
}

/** One instance folder, `<stateDir>/processes/<id>-<rev8>`, as this agent knows it. */
interface Tracked {
  folder: string;
  record: InstanceRecord;
  /** Present when this agent process spawned it; absent for adopted processes. */
  child?: ChildProcess;
  /** Resolves once the child's exit is recorded (children only). */
  exitRecorded?: Promise<void>;
  /** Record writes in order, so an exit is never overwritten by an older state. */
  writes: Promise<void>;
  cpuSample?: CpuCounters;
}

const TICK_MS = 1000;
const ROTATE_EVERY_TICKS = 5;

/** Runs instances as plain host processes, for boards without Docker. */
function withoutPrivate(env: Record<string, string>, names: ReadonlySet<string> | undefined): Record<string, string> {
  if (!names || names.size === 0) return env;
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.has(name)));
}

export function createProcessRuntime(options: ProcessRuntimeOptions): InstanceRuntime {
  const { stateDir, deviceId, log } = options;
  const maxLogBytes = options.maxLogBytes ?? 1024 * 1024;
  const processesDir = join(stateDir, 'processes');
  const tracked = new Map<string, Tracked>();
  /** Folders of interrupted starts are those of earlier agents (see settleUntrackedFolder). */
  const createdAtMs = Date.now();
  const exitListeners = new Set<(id: string) => void>();
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let ticking = false;
  let closed = false;

  const folderName = (id: string, revision: string): string => `${id}-${revision.slice(0, 8)}`;

  const notifyExit = (id: string): void => {
    for (const listener of exitListeners) {
      try {
        listener(id);
      } catch (err) {
        log.error(`exit listener failed: ${errorMessage(err)}`);
      }
    }
  };

  const persist = (entry: Tracked): Promise<void> => {
    const snapshot = entry.record;
    entry.writes = entry.writes
      .then(() => writeRecord(entry.folder, snapshot))
      .catch((err: unknown) => {
        // The folder is gone when the instance was removed meanwhile: nothing left to record.
        if (errnoCode(err) === 'ENOENT') log.debug(`${entry.folder} is gone; exit not recorded`);
        else log.error(`writing ${entry.folder}/instance.json failed: ${errorMessage(err)}`);
      });
    return entry.writes;
  };

  const recordExit = async (entry: Tracked, code: number | null, signal: string | null): Promise<void> => {
    if (entry.record.exit !== undefined) return;
    // Set before any await, so a concurrent poll cannot record (and announce) the same exit twice.
    entry.record = { ...entry.record, exit: { code, signal, finishedAt: new Date().toISOString() } };
    const remnants = await killGroupRemnants(entry.record.pid, entry.record.startTime).catch(() => 0);
    if (remnants > 0) log.info(`${entry.folder}: killed ${remnants} process(es) left in the group after its leader exited`);
    await persist(entry);
    notifyExit(entry.record.id);
  };

  /**
   * Waits for a child's exit to be recorded. The child is unref'd (the agent may exit while its
   * instances run on), so it is ref'd for the wait: otherwise an otherwise idle event loop
   * would end with this promise pending.
   */
  const childExitRecorded = async (entry: Tracked): Promise<void> => {
    entry.child?.ref();
    try {
      await entry.exitRecorded;
    } finally {
      entry.child?.unref();
    }
  };

  const isRunning = async (entry: Tracked): Promise<boolean> => {
    if (entry.record.exit !== undefined) return false;
    if (entry.child !== undefined) return entry.child.exitCode === null && entry.child.signalCode === null;
    return isSameLiveProcess(entry.record.pid, entry.record.startTime);
  };

  /** An adopted process (not our child) found gone: its exit status went to its real parent. */
  const checkAdopted = async (entry: Tracked): Promise<void> => {
    if (entry.child === undefined && entry.record.exit === undefined && !(await isRunning(entry))) await recordExit(entry, null, null);
  };

  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    ticks++;
    for (const entry of tracked.values()) {
      try {
        await checkAdopted(entry);
        if (ticks % ROTATE_EVERY_TICKS === 0 && entry.record.exit === undefined) await rotateIfLarger(entry.folder, maxLogBytes);
      } catch (err) {
        log.warn(`watching ${entry.folder} failed: ${errorMessage(err)}`);
      }
    }
    ticking = false;
  };

  const ensureTimer = (): void => {
    if (timer !== undefined || closed) return;
    timer = setInterval(() => void tick(), TICK_MS);
    timer.unref(); // watching must not keep the agent alive
  };

  /** Syncs `tracked` with the instance folders on disk (adopting what a previous agent started). */
  const load = async (): Promise<void> => {
    const names = await readdir(processesDir).catch(() => [] as string[]);
    for (const name of names) {
      if (tracked.has(name)) continue;
      const folder = join(processesDir, name);
      const record = await readRecord(folder);
      if (record instanceof Error) {
        log.warn(`ignoring ${folder}: damaged instance.json (${record.message})`);
        continue;
      }
      // Starts and removals of this agent are in foldersInFlux; any other folder without a
      // record, or with a gate never released, is what an agent SIGKILLed mid-start left.
      if ((record !== undefined && record.deviceId !== deviceId) || foldersInFlux.has(folder)) continue;
      if ((await settleUntrackedFolder(folder, record, createdAtMs, log)) !== 'adopt' || record === undefined || tracked.has(name)) continue;
      tracked.set(name, { folder, record, writes: Promise.resolve() });
    }
    // Only adopted entries are pruned: a child's folder may be younger than this listing.
    for (const [name, entry] of tracked) if (entry.child === undefined && !names.includes(name)) tracked.delete(name);
    if (tracked.size > 0) ensureTimer();
  };

  const observe = async (entry: Tracked): Promise<ObservedInstance> => {
    if (entry.child !== undefined && !(await isRunning(entry))) await childExitRecorded(entry);
    else await checkAdopted(entry);
    return observedFromRecord(entry.record);
  };

  /** The folder of an instance id whatever its revision: the running one, else the newest. */
  const find = async (id: string): Promise<Tracked> => {
    await load();
    const candidates = [...tracked.values()].filter((t) => t.record.id === id);
    for (const entry of candidates) if (await isRunning(entry)) return entry;
    const newest = candidates.sort((a, b) => b.record.startedAt.localeCompare(a.record.startedAt))[0];
    if (newest === undefined) throw new Error(`instance ${id} has no process on this device`);
    return newest;
  };

  const processTemplate = (instance: DesiredInstance): ProcessTemplate => {
    if (instance.template.runtime !== 'process') throw new Error(`instance ${instance.id} has a ${instance.template.runtime} template; the process runtime runs processes`);
    return instance.template;
  };

  /** `start` once the instance's folder name is reserved in foldersInFlux. */
  const startInFolder = async (instance: DesiredInstance, template: ProcessTemplate, name: string, folder: string): Promise<ObservedInstance> => {
    try {
      await mkdir(folder, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      // A folder that an interrupted start left is cleaned up, then this start goes on.
      const existing = tracked.has(name) ? undefined : await readRecord(folder);
      const leftover = !tracked.has(name) && !(existing instanceof Error) && (await settleUntrackedFolder(folder, existing, createdAtMs, log)) === 'removed';
      if (!leftover) throw new Error(`instance ${instance.id} revision ${instance.revision} already exists (${folder})`);
      await mkdir(folder, { mode: 0o700 });
    }
    const { limits } = template.resources;
    if (limits.cpuMillis !== undefined || limits.memoryBytes !== undefined) log.warn(`${name}: the process runtime cannot enforce CPU or memory limits; they are ignored`);
    if (template.volumes.some((v) => v.readOnly)) log.warn(`${name}: the process runtime cannot mount volumes read-only; they are writable`);
    const env = instanceEnv(instance, await prepareVolumes(stateDir, instance.workload, template), template);
    const argv = [...template.command, ...template.args];
    const cwd = template.workingDir ?? folder;
    let launched: Launched;
    try {
      launched = await launchProcess(folder, argv, env, cwd);
    } catch (err) {
      await rm(folder, { recursive: true, force: true });
      throw err;
    }
    const { child, exited } = launched;
    await options.startFaultPoint?.('spawned');
    const pid = child.pid as number;
    const stat = await readProcStat(pid);
    const record: InstanceRecord = {
      id: instance.id,
      workload: instance.workload,
      revision: instance.revision,
      deviceId,
      pid,
      startTime: stat?.startTime ?? null,
      argv,
      env: withoutPrivate(env, options.privateEnv?.(instance.id)),
      ...(template.workingDir !== undefined ? { workingDir: template.workingDir } : {}),
      startedAt: new Date().toISOString(),
      gated: true,
    };
    const entry: Tracked = { folder, record, child, writes: Promise.resolve() };
    // Tracked before the record is on disk, so a concurrent list() never adopts it as a stranger.
    tracked.set(name, entry);
    // Written directly (not via persist, which logs and swallows errors): the gate is released only
    // once the record naming it is durable, so a restarted agent never meets a program it cannot adopt.
    try {
      await writeRecord(folder, record);
      await options.startFaultPoint?.('recorded');
    } catch (err) {
      tracked.delete(name);
      await launched.abandon();
      await exited;
      await rm(folder, { recursive: true, force: true });
      throw err;
    }
    // Registered once the first write is done, so the record on disk never goes back to "running".
    entry.exitRecorded = exited.then(({ code, signal: sig }) => (closed ? undefined : recordExit(entry, exitCodeOf(code, sig), sig)));
    await launched.release();
    ensureTimer();
    log.info(`started ${name} as pid ${pid}: ${argv.join(' ')}`);
    return observe(entry);
  };

  return {
    kind: 'process',

    async list() {
      await load();
      return Promise.all([...tracked.values()].map(observe));
    },

    async prepare(instance) {
      // Nothing to fetch: the program must already be on the board.
      processTemplate(instance);
    },

    async start(instance, signal) {
      const template = processTemplate(instance);
      signal.throwIfAborted();
      const name = folderName(instance.id, instance.revision);
      const folder = join(processesDir, name);
      await mkdir(processesDir, { recursive: true, mode: 0o700 });
      if (foldersInFlux.has(folder)) throw new Error(`instance ${instance.id} revision ${instance.revision} already exists (${folder})`);
      foldersInFlux.add(folder);
      try {
        return await startInFolder(instance, template, name, folder);
      } finally {
        foldersInFlux.delete(folder);
      }
    },

    async stop(id, revision, graceSeconds, signal) {
      await load();
      const entry = tracked.get(folderName(id, revision));
      if (entry === undefined) return;
      // Even after the leader exited, members of its group may linger: they are stopped too.
      const outcome = await stopProcessGroup(entry.record.pid, entry.record.startTime, graceSeconds, signal);
      if (outcome !== 'not-running') log.info(`stopped ${folderName(id, revision)} (${outcome})`);
      if (entry.child !== undefined) await childExitRecorded(entry);
      else await checkAdopted(entry);
    },

    async signal(id, revision, signalName) {
      await load();
      const entry = tracked.get(folderName(id, revision));
      // The pid is the group leader we started (checked against its start time, never a reused pid).
      if (entry === undefined || !(await groupIsOurs(entry.record.pid, entry.record.startTime))) throw new Error(`instance ${folderName(id, revision)} is not running`);
      process.kill(entry.record.pid, signalName);
    },

    async remove(id, revision) {
      await load();
      const name = folderName(id, revision);
      const entry = tracked.get(name);
      if (entry === undefined) return;
      if ((await isRunning(entry)) || (await groupIsOurs(entry.record.pid, entry.record.startTime))) {
        throw new Error(`instance ${name} is still running; stop it before removing it`);
      }
      await entry.writes;
      tracked.delete(name);
      foldersInFlux.add(entry.folder);
      try {
        await rm(entry.folder, { recursive: true, force: true });
      } finally {
        foldersInFlux.delete(entry.folder);
      }
    },

    async *logs(id, logOptions) {
      const entry = await find(id);
      await rotateIfLarger(entry.folder, maxLogBytes);
      yield* processLogLines(entry.folder, logOptions, () => isRunning(entry));
    },

    async exec(id, command, timeoutMs) {
      const entry = await find(id);
      if (!(await isRunning(entry))) throw new Error(`instance ${id} is not running; cannot exec for it`);
      return execOnHost(command, entry.record.env, entry.record.workingDir ?? entry.folder, timeoutMs);
    },

    async probeHost() {
      return '127.0.0.1';
    },

    async usage(id) {
      const entry = await find(id).catch(() => undefined);
      if (entry === undefined || !(await isRunning(entry))) return undefined;
      const { sample, counters } = await sampleGroupUsage(entry.record.pid, entry.record.startTime, entry.cpuSample);
      entry.cpuSample = counters;
      return sample;
    },

    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },

    async close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
      exitListeners.clear();
      await Promise.all([...tracked.values()].map((t) => t.writes));
    },
  };
}
