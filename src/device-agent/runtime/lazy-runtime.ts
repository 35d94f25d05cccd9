import type { InstanceRuntime, ObservedInstance } from './runtime.js';

export interface LazyRuntimeOptions {
  kind: InstanceRuntime['kind'];
  /** Loads the real runtime (its libraries included); called at most once. */
  load(): Promise<InstanceRuntime>;
  /**
   * Whether the device has anything this runtime owns, asked without loading it. While the
   * answer is no, `list()` answers an empty list and the real runtime stays unloaded.
   */
  hasOwned(): Promise<boolean>;
}

/**
 * A runtime that loads its implementation on first real use. Docker boards without containers
 * are the common idle case: dockerode and the Docker runtime cost ~3 MB of RSS for good once
 * imported (bench/RESULTS.md), and an agent that only lists "nothing of ours" at start and on
 * every pass does not need them. The first start, prepare, stop, log, exec, usage or a listing
 * that finds owned containers loads it; exit listeners registered before then are handed over,
 * which loses nothing: no container of ours can die before one exists.
 */
export function lazyRuntime(options: LazyRuntimeOptions): InstanceRuntime & { loaded(): boolean } {
  let real: InstanceRuntime | undefined;
  let loading: Promise<InstanceRuntime> | undefined;
  // Listener → the unsubscribe of its registration on the real runtime, once there is one.
  const listeners = new Map<(id: string) => void, (() => void) | undefined>();
  const get = (): Promise<InstanceRuntime> => {
    loading ??= options.load().then(
      (runtime) => {
        real = runtime;
        for (const listener of listeners.keys()) listeners.set(listener, runtime.onExit(listener));
        return runtime;
      },
      (err: unknown) => {
        // A failed load is retried on the next use rather than remembered.
        loading = undefined;
        throw err;
      },
    );
    return loading;
  };

  return {
    kind: options.kind,
    loaded: () => real !== undefined,
    async list(): Promise<ObservedInstance[]> {
      if (real === undefined && loading === undefined && !(await options.hasOwned())) return [];
      return (await get()).list();
    },
    prepare: async (instance, signal, onProgress) => (await get()).prepare(instance, signal, onProgress),
    start: async (instance, signal) => (await get()).start(instance, signal),
    stop: async (id, revision, graceSeconds, signal) => (await get()).stop(id, revision, graceSeconds, signal),
    remove: async (id, revision) => (await get()).remove(id, revision),
    async *logs(id, logOptions) {
      yield* (await get()).logs(id, logOptions);
    },
    exec: async (id, command, timeoutMs) => (await get()).exec(id, command, timeoutMs),
    probeHost: async (id) => (await get()).probeHost(id),
    usage: async (id) => (await get()).usage(id),
    onExit(listener) {
      listeners.set(listener, real?.onExit(listener));
      return () => {
        listeners.get(listener)?.();
        listeners.delete(listener);
      };
    },
    async close() {
      listeners.clear();
      if (loading !== undefined) await (await loading.catch(() => undefined))?.close();
    },
  };
}
