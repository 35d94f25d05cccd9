// A hub store with a fleet in steady state, for timing the desired-state controller's pass in
// process (bench fleet --passes-only; and profiling with node --cpu-prof): N online devices with
// facts, `replicas: all` + a zone-spread `replicas: N` + small workloads up to `workloads`, every
// device already sent its document and reporting its instances running.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import type { HubStore } from '../../src/hub/store/repository.js';
import type { DeviceRecord } from '../../src/hub/store/records.js';
import { parseManifests, recordFor } from '../../src/hub/workloads/manifests.js';
import { DesiredStateController } from '../../src/hub/workloads/desired-controller.js';
import type { DesiredState, ReportedState } from '../../src/protocol/index.js';
import { simulatedFacts } from './sim-facts.js';

const ZONE = 'topology.edgepilot.io/zone';

export function benchWorkload(name: string, spec: Record<string, unknown>, env: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name },
    spec: { ...spec, template: { runtime: 'process', command: ['sh', '-c', 'exec sleep 100000'], env, resources: { requests: { cpu: '10m', memory: '8Mi' } } } },
  };
}

export interface PassFixture {
  store: HubStore;
  controller: DesiredStateController;
  published: { count: number };
  dir: string;
}

export async function passFixture(devices: number, workloads: number): Promise<PassFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-pass-'));
  const store = await openLowdbStore(dir, () => undefined);
  const now = new Date();
  for (let i = 0; i < devices; i++) {
    const facts = simulatedFacts(i);
    const device: DeviceRecord = {
      id: `sim-${i}`,
      hardwareId: `sim-hardware-${i}`,
      hostname: facts.hostname,
      labels: { [ZONE]: `zone-${i % 4}`, 'kubernetes.io/arch': facts.arch },
      taints: [],
      unschedulable: false,
      credentialHash: 'x'.repeat(64),
      registeredAt: now.toISOString(),
      joinedWithToken: 'bench',
      status: { state: 'online', reason: 'connected', agentVersion: 'sim', bootId: 'sim', sessionId: `s${i}`, since: now.toISOString() },
      facts,
    };
    void store.devices.put(device, 'lazy');
  }
  const manifests = [
    benchWorkload('every', { replicas: 'all' }),
    benchWorkload('spread', { replicas: devices, topologySpread: [{ topologyKey: ZONE, maxSkew: 1 }] }),
    ...Array.from({ length: Math.max(0, workloads - 2) }, (_, i) => benchWorkload(`small-${i}`, { replicas: Math.min(20, devices) })),
  ];
  await store.workloads.putAll(parseManifests(manifests).map((m) => recordFor(m, undefined, now.toISOString()).record));
  const published = { count: 0 };
  const controller = new DesiredStateController({
    store,
    publish: async () => void (published.count += 1),
    now: () => new Date(),
    log: createLogger('desired', 'warn'),
  });
  await controller.reconcile();
  // Every device reports what it was sent as running and ready (steady state).
  const sent: Map<string, DesiredState> = await store.deviceState.allDesired();
  for (const [id, desired] of sent) {
    const reported: ReportedState = {
      observedGeneration: desired.generation,
      time: now.toISOString(),
      instances: desired.instances.map((i) => ({ id: i.id, workload: i.workload, revision: i.revision, runtime: i.template.runtime, phase: 'running', ready: true, restarts: 0, startedAt: now.toISOString() })),
    };
    await store.deviceState.putReported(id, reported);
  }
  return { store, controller, published, dir };
}
