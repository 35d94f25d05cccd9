import type { InstanceRuntime } from '../runtime/runtime.js';
import type { ConfigFiles } from './config-files.js';

/**
 * A runtime whose instances get their ConfigMap and Secret files and env before they start, and lose
 * the files when removed: how Job and CronJob attempts (which have no reconciler `decorate`) read them.
 */
export function withConfigs(runtime: InstanceRuntime, files: Pick<ConfigFiles, 'decorate' | 'remove'>): InstanceRuntime {
  return {
    kind: runtime.kind,
    list: () => runtime.list(),
    prepare: (instance, signal, onProgress) => runtime.prepare(instance, signal, onProgress),
    start: async (instance, signal) => runtime.start(await files.decorate(instance), signal),
    stop: (id, revision, graceSeconds, signal) => runtime.stop(id, revision, graceSeconds, signal),
    ...(runtime.signal ? { signal: (id: string, revision: string, name: NodeJS.Signals) => runtime.signal?.(id, revision, name) ?? Promise.resolve() } : {}),
    remove: async (id, revision) => {
      await runtime.remove(id, revision);
      await files.remove(id);
    },
    logs: (id, options) => runtime.logs(id, options),
    exec: (id, command, timeoutMs) => runtime.exec(id, command, timeoutMs),
    probeHost: (id) => runtime.probeHost(id),
    usage: (id) => runtime.usage(id),
    onExit: (listener) => runtime.onExit(listener),
    close: () => runtime.close(),
  };
}
