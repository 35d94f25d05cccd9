// The nemesis's faults: each one is injected, held for a random while, and healed. Which fault,
// where and for how long all come from the run's seeded PRNG.
import type { NemesisAgent, NemesisBroker, NemesisCluster } from './cluster.js';

export const FAULT_KINDS = ['hub-kill', 'agent-kill', 'broker-cut', 'partition', 'mqtt-chaos', 'clock-step', 'disk-full', 'broker-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The faults a run injects: Mosquitto stopped and started only when there is a Mosquitto. */
export function faultKinds(broker: NemesisBroker): readonly FaultKind[] {
  return broker === 'mosquitto' ? FAULT_KINDS : FAULT_KINDS.filter((k) => k !== 'broker-restart');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const between = (random: () => number, min: number, max: number): number => Math.round(min + random() * (max - min));

function someAgents(random: () => number, agents: readonly NemesisAgent[]): NemesisAgent[] {
  if (random() < 0.3) return [...agents];
  return [agents[Math.floor(random() * agents.length)] as NemesisAgent];
}

/** Injects one fault of `kind`, holds it, heals it. Resolves with a short description for the log. */
export async function injectFault(kind: FaultKind, cluster: NemesisCluster, random: () => number): Promise<string> {
  switch (kind) {
    case 'hub-kill': {
      const downMs = between(random, 200, 4000);
      await cluster.killHub();
      await sleep(downMs);
      await cluster.restartHub();
      return `hub SIGKILLed, restarted after ${downMs} ms`;
    }
    case 'agent-kill': {
      const targets = someAgents(random, cluster.agents);
      const downMs = between(random, 200, 6000);
      await Promise.all(targets.map((a) => cluster.killAgent(a)));
      await sleep(downMs);
      for (const a of targets) cluster.restartAgent(a);
      return `agents ${targets.map((a) => a.index).join(',')} SIGKILLed, restarted after ${downMs} ms`;
    }
    case 'broker-cut': {
      const targets = someAgents(random, cluster.agents);
      for (const a of targets) a.mqttProxy.cutAll();
      return `broker connections of agents ${targets.map((a) => a.index).join(',')} cut`;
    }
    case 'partition': {
      const targets = someAgents(random, cluster.agents);
      const holdMs = between(random, 1000, 12_000);
      for (const a of targets) await cluster.partition(a, true);
      await sleep(holdMs);
      for (const a of targets) await cluster.partition(a, false);
      return `agents ${targets.map((a) => a.index).join(',')} partitioned for ${holdMs} ms`;
    }
    case 'mqtt-chaos': {
      const targets = someAgents(random, cluster.agents);
      const holdMs = between(random, 3000, 15_000);
      const settings = { duplicate: 0.1 + random() * 0.4, reorder: 0.1 + random() * 0.4 };
      for (const a of targets) a.mqttProxy.chaos(settings);
      await sleep(holdMs);
      for (const a of targets) a.mqttProxy.chaos(undefined);
      return `agents ${targets.map((a) => a.index).join(',')}: PUBLISH duplicated ${settings.duplicate.toFixed(2)}, reordered ${settings.reorder.toFixed(2)} for ${holdMs} ms`;
    }
    case 'clock-step': {
      const target = someAgents(random, cluster.agents)[0] as NemesisAgent;
      const offset = (random() < 0.5 ? -1 : 1) * between(random, 60, 6 * 3600);
      const holdMs = between(random, 2000, 15_000);
      await cluster.stepClock(target, offset);
      await sleep(holdMs);
      await cluster.stepClock(target, 0);
      return `agent ${target.index} clock stepped ${offset} s for ${holdMs} ms`;
    }
    case 'broker-restart': {
      const downMs = between(random, 2000, 10_000);
      await cluster.stopBroker();
      await sleep(downMs);
      await cluster.startBroker();
      return `Mosquitto stopped, started after ${downMs} ms`;
    }
    case 'disk-full': {
      const holdMs = between(random, 1000, 8000);
      await cluster.fillDisk();
      await sleep(holdMs);
      await cluster.freeDisk();
      return `hub data folder full for ${holdMs} ms`;
    }
  }
}

/** Puts everything back: links up, no chaos, clocks right, disk free, every process running. */
export async function healAll(cluster: NemesisCluster): Promise<void> {
  await cluster.freeDisk();
  await cluster.startBroker();
  for (const a of cluster.agents) {
    a.mqttProxy.chaos(undefined);
    await cluster.partition(a, false);
    await cluster.stepClock(a, 0);
    if (!a.proc.running) cluster.restartAgent(a);
  }
  if (!cluster.hub.proc.running) await cluster.restartHub();
}
