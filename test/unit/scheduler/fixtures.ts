export { prng } from '../../support/prng.js';
// Builders for scheduler tests: full protocol objects with small, readable overrides.
import type { AttachedMcu, Facts, Taint, WorkloadSpec } from '../../../src/protocol/index.js';
import { workloadSpecManifestSchema, wellKnownLabels } from '../../../src/protocol/index.js';
import type { DeviceSnapshot, PlacedInstance, PlacementRequest, PlacementResult, SchedulerOptions } from '../../../src/scheduler/index.js';
import { placeReplicas } from '../../../src/scheduler/index.js';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
export const now = Date.parse('2025-06-01T12:00:00Z');
export const iso = (ms: number): string => new Date(ms).toISOString();
export const options: SchedulerOptions = { now, reserve: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0 } };
export const zoneKey = wellKnownLabels.zone;

export interface FactsInput {
  arch?: Facts['arch'];
  platform?: string;
  cores?: number;
  memory?: number;
  diskFree?: number;
  docker?: boolean;
  process?: boolean;
  mcus?: Partial<AttachedMcu>[];
  serialPorts?: string[];
  resources?: Record<string, number>;
  images?: string[];
}

export function facts(input: FactsInput = {}, hostname = 'board'): Facts {
  return {
    hostname,
    arch: input.arch ?? 'arm64',
    os: { platform: input.platform ?? 'linux', distro: 'debian', release: '12', kernel: '6.1' },
    board: { manufacturer: 'Radxa', model: 'Rock 5B' },
    cpu: { model: 'Cortex-A76', cores: input.cores ?? 4 },
    memory: { totalBytes: input.memory ?? 4 * GiB },
    disk: { totalBytes: 64 * GiB, freeBytes: input.diskFree ?? 32 * GiB },
    temperatureC: null,
    runtimes: { docker: { available: input.docker ?? true }, process: { available: input.process ?? true } },
    serialPorts: (input.serialPorts ?? []).map((path) => ({ path })),
    mcus: (input.mcus ?? []).map((m, i) => ({
      id: m.id ?? `mcu-${i}`,
      model: m.model ?? 'stm32f103',
      application: m.application ?? 'sensor',
      serial: m.serial ?? `S${i}`,
      firmwareVersion: m.firmwareVersion ?? '1.0.0',
      port: m.port ?? `/dev/ttyUSB${i}`,
      online: m.online ?? true,
    })),
    resources: input.resources ?? {},
    images: input.images ?? [],
  };
}

export interface DeviceInput extends FactsInput {
  labels?: Record<string, string>;
  zone?: string;
  taints?: Taint[];
  unschedulable?: boolean;
  online?: boolean;
  ready?: boolean;
  offlineSince?: string;
  noFacts?: boolean;
  instances?: PlacedInstance[];
}

export function device(id: string, input: DeviceInput = {}): DeviceSnapshot {
  const labels = { ...input.labels };
  if (input.zone !== undefined) labels[zoneKey] = input.zone;
  return {
    id,
    labels,
    taints: input.taints ?? [],
    unschedulable: input.unschedulable ?? false,
    online: input.online ?? true,
    ready: input.ready ?? true,
    ...(input.offlineSince !== undefined ? { offlineSince: input.offlineSince } : {}),
    ...(input.noFacts ? {} : { facts: facts(input, id) }),
    instances: input.instances ?? [],
  };
}

/** A workload spec through the protocol schema, so defaults are the real ones. */
export function spec(input: Record<string, unknown> = {}): WorkloadSpec {
  return workloadSpecManifestSchema.parse({ replicas: 1, template: { runtime: 'container', image: 'app:1' }, ...input });
}

export function containerTemplate(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { runtime: 'container', image: 'app:1', ...extra };
}

export function request(name: string, input: Record<string, unknown>, replicas: number): PlacementRequest {
  return { name, spec: spec(input), replicas };
}

export function place(devices: readonly DeviceSnapshot[], input: Record<string, unknown>, replicas: number, name = 'web'): PlacementResult {
  return placeReplicas(devices, request(name, input, replicas), options);
}

/** How many placements landed on each device id (or on each key of `by`). */
export function tally(result: PlacementResult, by: (deviceId: string) => string = (id) => id): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of result.placements) {
    const k = by(p.deviceId);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export function instance(id: string, workload: string, over: Partial<PlacedInstance> = {}): PlacedInstance {
  return { id, workload, cpuMillis: 0, memoryBytes: 0, hostPorts: [], deviceResources: {}, peripherals: [], ...over };
}

