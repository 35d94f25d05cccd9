import { connect } from 'node:net';
import { httpGet } from '../../common/http-get.js';
import type { Logger } from '../../common/log.js';
import type { Probe, Template } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from '../runtime/runtime.js';
import { observedKey, type InstanceHealth } from './model.js';

export interface ProbeTarget {
  observed: ObservedInstance;
  template: Template;
  runtime: InstanceRuntime;
}

interface Prober {
  identity: string;
  timers: NodeJS.Timeout[];
  stopped: boolean;
}

async function runCheck(probe: Probe, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.exec) {
    const result = await target.runtime.exec(target.observed.id, probe.exec.command, timeoutMs);
    return result.exitCode === 0;
  }
  const host = await target.runtime.probeHost(target.observed.id);
  if (probe.http) {
    // Kubernetes counts 200–399 as success (redirects are not followed).
    const answer = await httpGet(`http://${host}:${probe.http.port}${probe.http.path}`, { timeoutMs, maxBytes: 64 * 1024 });
    return answer.status >= 200 && answer.status < 400;
  }
  if (probe.tcp) {
    const port = probe.tcp.port;
    return new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
      socket.on('timeout', () => (socket.destroy(), resolve(false)));
    });
  }
  return false;
}

/**
 * Liveness and readiness probes of running instances, each on its own timer. Results land in
 * `health`; a change that matters (liveness lost, readiness flipped) calls `onChange` so the
 * reconciler acts without waiting for its next pass.
 */
export class ProbeManager {
  readonly health = new Map<string, InstanceHealth>();
  private readonly probers = new Map<string, Prober>();

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /** Starts probing new running instances and stops probing the ones that are gone. */
  sync(targets: readonly ProbeTarget[]): void {
    const wanted = new Map(targets.filter((t) => t.observed.state === 'running').map((t) => [observedKey(t.observed), t]));
    for (const [key, prober] of this.probers) {
      const target = wanted.get(key);
      if (!target || identityOf(target) !== prober.identity) this.drop(key);
    }
    for (const [key, target] of wanted) if (!this.probers.has(key)) this.begin(key, target);
  }

  stop(): void {
    for (const key of [...this.probers.keys()]) this.drop(key);
  }

  private drop(key: string): void {
    const prober = this.probers.get(key);
    if (prober) {
      prober.stopped = true;
      prober.timers.forEach(clearTimeout);
    }
    this.probers.delete(key);
    this.health.delete(key);
  }

  private begin(key: string, target: ProbeTarget): void {
    const prober: Prober = { identity: identityOf(target), timers: [], stopped: false };
    this.probers.set(key, prober);
    const { liveness, readiness } = target.template.probes;
    this.health.set(key, { live: true, ready: undefined });
    if (liveness) this.loop(key, prober, target, liveness, 'liveness');
    if (readiness) this.loop(key, prober, target, readiness, 'readiness');
  }

  private loop(key: string, prober: Prober, target: ProbeTarget, probe: Probe, kind: 'liveness' | 'readiness'): void {
    let failures = 0;
    let successes = 0;
    const tick = async (): Promise<void> => {
      if (prober.stopped) return;
      const ok = await runCheck(probe, target).catch(() => false);
      if (prober.stopped) return;
      failures = ok ? 0 : failures + 1;
      successes = ok ? successes + 1 : 0;
      const health = this.health.get(key);
      if (health) {
        if (kind === 'liveness' && health.live && failures >= probe.failureThreshold) {
          health.live = false;
          this.log.warn(`${target.observed.id}: liveness probe failed ${failures} times`);
          this.onChange();
        }
        if (kind === 'readiness') {
          const ready = health.ready === true ? failures < probe.failureThreshold : successes >= probe.successThreshold;
          if (ready !== health.ready) {
            health.ready = ready;
            this.onChange();
          }
        }
      }
      prober.timers.push(setTimeout(() => void tick(), probe.periodSeconds * 1000));
      if (prober.timers.length > 4) prober.timers.splice(0, prober.timers.length - 4);
    };
    prober.timers.push(setTimeout(() => void tick(), probe.initialDelaySeconds * 1000));
  }
}

function identityOf(target: ProbeTarget): string {
  return `${target.observed.containerId ?? ''}:${target.observed.pid ?? ''}:${target.observed.startedAt?.getTime() ?? ''}`;
}
