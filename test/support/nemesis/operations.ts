// The nemesis workload generator: random writes through the hub's API (the same requests the CLI
// sends), each recorded with the API's answer. One write at a time, so the history is a sequence.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliResult } from '../processes.js';
import type { Intent, Operation, Outcome } from './history.js';

export const WORKLOAD_NAMES = ['nw-0', 'nw-1', 'nw-2', 'nw-3'] as const;
export const CRONJOB_NAMES = ['nc-0', 'nc-1'] as const;
const LABEL_KEYS = ['nemesis-a', 'nemesis-b'] as const;
/** Slots that do not come during a run, even on an agent whose clock is stepped by hours. */
const SCHEDULES = ['0 0 1 1 *', '15 4 1 1 *'] as const;
export const MAX_REPLICAS = 3;

export interface ApiTarget {
  apiUrl: string;
  adminToken: string;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

export function workloadManifest(runId: string, name: string, replicas: number, marker: string): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name },
    spec: {
      replicas,
      template: { runtime: 'process', command: ['sleep', '86400'], env: { NEMESIS_RUN: runId, NEMESIS_MARK: marker }, terminationGracePeriodSeconds: 2 },
    },
  };
}

function cronJobManifest(name: string, schedule: string): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule, jobTemplate: { template: { runtime: 'process', command: ['true'] } } },
  };
}

/**
 * Two releases: `nr` carries a workload no one runs, and its rollouts select no device (only their
 * records are checked); `nrd` carries a template for every nemesis workload, marked with its version
 * (NEMESIS_RELEASE), and its rollouts target the devices labelled ROLLOUT_LABEL, so a pinned
 * device's instances of those workloads run the release's template instead of the workload's.
 */
export const DEVICE_RELEASE = 'nrd';
export const ROLLOUT_LABEL = { key: 'nemesis-rollout', value: 'yes' } as const;

function releaseManifest(runId: string, name: string, version: string): unknown {
  const workloads =
    name === DEVICE_RELEASE
      ? Object.fromEntries(
          WORKLOAD_NAMES.map((w) => [
            w,
            { runtime: 'process', command: ['sleep', '86400'], env: { NEMESIS_RUN: runId, NEMESIS_MARK: `release-${version}`, NEMESIS_RELEASE: version }, terminationGracePeriodSeconds: 2 },
          ]),
        )
      : { 'nr-w': { runtime: 'process', command: ['sleep', '86400'], env: { NEMESIS_RUN: runId } } };
  return { apiVersion: 'edgepilot.io/v1', kind: 'Release', metadata: { name }, spec: { version, workloads } };
}

function rolloutManifest(name: string, release: string, version: string): unknown {
  const onDevices = release === DEVICE_RELEASE;
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Rollout',
    metadata: { name },
    spec: {
      selector: { matchLabels: onDevices ? { [ROLLOUT_LABEL.key]: ROLLOUT_LABEL.value } : { 'nemesis-rollout': 'none' } },
      release: { name: release, version },
      // Short soaks and deadlines, so a rollout started late in the run settles before it is judged.
      waves: [onDevices ? { name: 'all', percent: 100, minHealthySeconds: 2, healthyDeadlineSeconds: 40, progressDeadlineSeconds: 60 } : { name: 'all', percent: 100 }],
    },
  };
}

export interface Known {
  devices: readonly string[];
  /** Token ids the hub acknowledged creating. */
  tokens: readonly string[];
  /** Releases the hub acknowledged storing. */
  releases: readonly { name: string; version: string }[];
}

/** The next random write, from what the generator knows of the fleet. */
export function nextIntent(random: () => number, seq: number, known: Known): Intent | { kind: 'token-create-new' } {
  const { devices, tokens, releases } = known;
  const roll = random();
  if (roll < 0.4) return { kind: 'apply-workload', name: pick(random, WORKLOAD_NAMES), replicas: Math.floor(random() * (MAX_REPLICAS + 1)), marker: String(seq) };
  if (roll < 0.5) return { kind: 'delete-workload', name: pick(random, WORKLOAD_NAMES) };
  if (roll < 0.65 && devices.length > 0) return { kind: 'label', device: pick(random, devices), key: pick(random, LABEL_KEYS), value: random() < 0.7 ? `v${seq}` : null };
  if (roll < 0.75 && devices.length > 0) return { kind: 'cordon', device: pick(random, devices), cordoned: random() < 0.5 };
  if (roll < 0.82) return { kind: 'token-create-new' };
  if (roll < 0.87 && tokens.length > 0) return { kind: 'token-revoke', tokenId: pick(random, tokens) };
  if (roll < 0.9) return { kind: 'firmware-push', target: 'stm32f103', version: `1.0.${seq}`, sha256: '' };
  if (roll < 0.93 || (roll < 0.97 && releases.length === 0)) return { kind: 'apply-release', name: random() < 0.5 ? DEVICE_RELEASE : 'nr', version: `1.0.${seq}` };
  if (roll < 0.97) {
    const release = pick(random, releases);
    return { kind: 'apply-rollout', name: `nro-${seq}`, release: release.name, version: release.version };
  }
  if (roll < 0.99) return { kind: 'apply-cronjob', name: pick(random, CRONJOB_NAMES), schedule: pick(random, SCHEDULES) };
  return { kind: 'delete-cronjob', name: pick(random, CRONJOB_NAMES) };
}

interface Answer {
  outcome: Outcome;
  body?: unknown;
}

/** 2xx acknowledged; 4xx refused (404 on a removal: already absent, which is what it promised); 5xx unknown; no answer. */
async function call(target: ApiTarget, method: string, path: string, body: unknown, removal = false): Promise<Answer> {
  try {
    const response = await fetch(`${target.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (response.ok || (removal && response.status === 404)) return { outcome: 'acked', body: text ? (JSON.parse(text) as unknown) : undefined };
    return { outcome: response.status < 500 ? 'refused' : 'unknown' };
  } catch (err) {
    // Refused connections never reached the hub (it is down); anything else may have, and may yet.
    const code = (err as { cause?: { code?: string } }).cause?.code;
    return { outcome: code === 'ECONNREFUSED' ? 'refused' : 'no-answer' };
  }
}

/** Sends one write and returns its record (a token create's id is known only from an acknowledgement). */
export async function perform(target: ApiTarget, runId: string, seq: number, at: number, planned: Intent | { kind: 'token-create-new' }): Promise<Operation | undefined> {
  const record = (intent: Intent, answer: Answer): Operation => ({ seq, at, intent, outcome: answer.outcome });
  switch (planned.kind) {
    case 'apply-workload':
      return record(planned, await call(target, 'POST', '/v1/apply', { manifests: [workloadManifest(runId, planned.name, planned.replicas, planned.marker)] }));
    case 'delete-workload':
      return record(planned, await call(target, 'DELETE', `/v1/workloads/${planned.name}`, undefined, true));
    case 'apply-cronjob':
      return record(planned, await call(target, 'POST', '/v1/apply', { manifests: [cronJobManifest(planned.name, planned.schedule)] }));
    case 'delete-cronjob':
      return record(planned, await call(target, 'DELETE', `/v1/cronjobs/${planned.name}`, undefined, true));
    case 'apply-release':
      return record(planned, await call(target, 'POST', '/v1/apply', { manifests: [releaseManifest(runId, planned.name, planned.version)] }));
    case 'apply-rollout':
      return record(planned, await call(target, 'POST', '/v1/apply', { manifests: [rolloutManifest(planned.name, planned.release, planned.version)] }));
    case 'label': {
      const patch = planned.value === null ? { remove: [planned.key] } : { set: { [planned.key]: planned.value } };
      return record(planned, await call(target, 'PATCH', `/v1/devices/${planned.device}/labels`, patch, planned.value === null));
    }
    case 'cordon':
      return record(planned, await call(target, 'POST', `/v1/devices/${planned.device}/${planned.cordoned ? 'cordon' : 'uncordon'}`, undefined));
    case 'token-revoke':
      return record(planned, await call(target, 'DELETE', `/v1/tokens/${planned.tokenId}`, undefined, true));
    case 'firmware-push': // signed by the CLI: always sent through it (performViaCli)
      return undefined;
    case 'token-create': // only ever recorded, never planned
    case 'token-create-new': {
      const answer = await call(target, 'POST', '/v1/tokens', { ttlSeconds: 24 * 3600, description: `nemesis ${seq}` });
      const id = (answer.body as { id?: unknown } | undefined)?.id;
      return answer.outcome === 'acked' && typeof id === 'string' ? record({ kind: 'token-create', tokenId: id }, answer) : undefined;
    }
  }
}

/** The writes the CLI can make one to one (the rest go through the API only). */
export const cliCapable = (planned: Intent | { kind: 'token-create-new' }): boolean =>
  ['apply-workload', 'delete-workload', 'label', 'cordon', 'token-revoke', 'firmware-push'].includes(planned.kind);

/** A small image of its own for each push (a vector table's worth of bytes that differ per push). */
function firmwareImage(seq: number): Buffer {
  const image = Buffer.alloc(256);
  for (let i = 0; i < image.length; i += 4) image.writeUInt32LE((seq * 2654435761 + i) >>> 0, i);
  return image;
}

/**
 * The same write through the `edgepilot` CLI, as a technician types it. The CLI exits 1 for every
 * error (it prints one line; its text is not parsed), so a failure is recorded as `no-answer`, the
 * weakest claim: a refused write then only loosens the check for that key, never fails a correct hub.
 */
export async function performViaCli(cli: (args: string[]) => Promise<CliResult>, folder: string, runId: string, seq: number, at: number, planned: Intent): Promise<Operation | undefined> {
  let args: string[];
  let intent = planned;
  switch (planned.kind) {
    case 'apply-workload': {
      const file = join(folder, `apply-${seq}.json`);
      await writeFile(file, JSON.stringify(workloadManifest(runId, planned.name, planned.replicas, planned.marker)));
      args = ['apply', '-f', file];
      break;
    }
    case 'delete-workload':
      args = ['delete', 'workload', planned.name];
      break;
    case 'label':
      args = ['label', 'device', planned.device, planned.value === null ? `${planned.key}-` : `${planned.key}=${planned.value}`, '--overwrite'];
      break;
    case 'cordon':
      args = [planned.cordoned ? 'cordon' : 'uncordon', planned.device];
      break;
    case 'token-revoke':
      args = ['token', 'revoke', planned.tokenId];
      break;
    case 'firmware-push': {
      const image = firmwareImage(seq);
      const file = join(folder, `firmware-${seq}.bin`);
      await writeFile(file, image);
      intent = { ...planned, sha256: createHash('sha256').update(image).digest('hex') };
      args = ['firmware', 'push', file, '--target', planned.target, '--version', planned.version, '--key', join(folder, 'nemesis-fw.key')];
      break;
    }
    default:
      return undefined;
  }
  const result = await cli(args);
  return { seq, at, intent, outcome: result.code === 0 ? 'acked' : 'no-answer', via: 'cli' };
}
