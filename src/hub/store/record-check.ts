import * as z from 'zod';
import {
  describeIssues,
  desiredStateSchema,
  deviceIdSchema,
  eventSchema,
  factsSchema,
  isoTimeSchema,
  labelsSchema,
  maintenanceWindowRecordSchema,
  nameSchema,
  gateVerdictSchema,
  releaseDigestSchema,
  releasePinSchema,
  releaseRecordSchema,
  rolloutStateSchema,
  rolloutDeviceSchema,
  type RolloutState,
  serviceRecordSchema,
  configObjectKeySchema,
  configObjectRecordSchema,
  reportedStateSchema,
  statusSchema,
  taintSchema,
  TOKEN_ID_PATTERN,
  workloadSpecSchema,
  jobSpecSchema,
  cronJobSpecSchema,
} from '../../protocol/index.js';
import { loadChecks } from './checked-digest.js';
import { controlCollections, emptyDocument, emptyObserved, observedCollections, type ObservedDocument, type StoreDocument } from './document.js';

/**
 * Store-side shapes of the records in store.json and observed.json. The protocol has no schema
 * for a whole stored record (a device's credential hash, a token's use count), so they are
 * composed here from the protocol's field schemas. They check; they never rewrite a record
 * (no defaults are filled in): what was stored is what is loaded.
 */
/**
 * Checks what the placement pass and the device views read; other fields (a credential that a
 * pending device may not have yet, new fields of a newer release) are left to their owners.
 */
const storedDeviceSchema = z.object({
  id: deviceIdSchema,
  hardwareId: z.string().max(256),
  hostname: z.string().max(256),
  labels: labelsSchema,
  taints: z.array(taintSchema),
  unschedulable: z.boolean(),
  draining: z.boolean().optional(),
  credentialHash: z.string().optional(),
  registeredAt: isoTimeSchema,
  joinedWithToken: z.string().optional(),
});

const tokenRecordSchema = z.object({
  id: z.string().regex(TOKEN_ID_PATTERN, 'invalid token id'),
  secretHash: z.string().min(1),
  description: z.string(),
  labels: labelsSchema,
  createdAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  maxUses: z.number().int().positive().optional(),
  uses: z.number().int().nonnegative(),
  revoked: z.boolean(),
});

const workloadRecordSchema = z.object({
  name: nameSchema,
  labels: labelsSchema,
  annotations: z.record(z.string(), z.string()),
  // A stored spec is the manifest schema's output, which it accepts again as input (defaults
  // are filled, quantities are numbers): the whole spec is what the scheduler walks.
  spec: workloadSpecSchema,
  revision: z.string().min(1),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
});

const placementRecordSchema = z.object({
  workload: nameSchema,
  replicas: z.record(z.string().regex(/^\d{1,6}$/), deviceIdSchema),
  peripherals: z.record(z.string(), z.array(z.unknown())).optional(),
  autoscaledReplicas: z.number().int().nonnegative().optional(),
});

const jobRecordSchema = z.object({
  name: nameSchema,
  uid: z.string().min(1),
  labels: labelsSchema,
  spec: jobSpecSchema,
  createdAt: isoTimeSchema,
  assigned: z.array(deviceIdSchema),
});

const cronJobRecordSchema = z.object({
  name: nameSchema,
  labels: labelsSchema,
  spec: cronJobSpecSchema,
  revision: z.string().min(1),
  createdAt: isoTimeSchema,
});

/** Run records are kept per owner (`Job/<name>`, `CronJob/<name>`); each names its device. */
const jobRunsSchema = z.array(z.object({ id: z.string().min(1), device: deviceIdSchema }));
const runOwnerKeySchema = z.string().regex(/^(Job|CronJob)\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid run owner');

const observedDeviceSchema = z.object({
  status: statusSchema.optional(),
  lastSeen: isoTimeSchema.optional(),
  facts: factsSchema.optional(),
});

const eventSubjectSchema = z.string().regex(/^(device|workload|rollout|job|cronjob|service)\/[a-z0-9][a-z0-9-]{0,62}$/, 'invalid event subject');

/** What each collection's records must look like, and how a record names its own key. */
export const collectionChecks = {
  devices: { record: storedDeviceSchema, key: deviceIdSchema, ownKey: (r: unknown) => (r as { id?: unknown }).id },
  tokens: { record: tokenRecordSchema, key: z.string().regex(TOKEN_ID_PATTERN), ownKey: (r: unknown) => (r as { id?: unknown }).id },
  workloads: { record: workloadRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  placements: { record: placementRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { workload?: unknown }).workload },
  desired: { record: desiredStateSchema, key: deviceIdSchema, ownKey: undefined },
  jobs: { record: jobRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  cronJobs: { record: cronJobRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  jobRuns: { record: jobRunsSchema, key: runOwnerKeySchema, ownKey: undefined },
  observedDevices: { record: observedDeviceSchema, key: deviceIdSchema, ownKey: undefined },
  reported: { record: reportedStateSchema, key: deviceIdSchema, ownKey: undefined },
  events: { record: z.array(eventSchema), key: eventSubjectSchema, ownKey: undefined },
  releases: { record: releaseRecordSchema, key: z.string().regex(/^[a-z0-9][-a-z0-9]{0,62}@[0-9A-Za-z.+-]{1,64}$/), ownKey: (r: unknown) => releaseKeyOf(r) },
  rollouts: { record: rolloutStateSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  maintenanceWindows: { record: maintenanceWindowRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  gateVerdicts: { record: gateVerdictSchema, key: releaseDigestSchema, ownKey: (r: unknown) => (r as { releaseDigest?: unknown }).releaseDigest },
  releasePins: { record: releasePinSchema, key: deviceIdSchema, ownKey: undefined },
  services: { record: serviceRecordSchema, key: nameSchema, ownKey: (r: unknown) => (r as { name?: unknown }).name },
  configObjects: { record: configObjectRecordSchema, key: configObjectKeySchema, ownKey: (r: unknown) => `${String((r as { kind?: unknown }).kind)}/${String((r as { name?: unknown }).name)}` },
} as const;

function releaseKeyOf(record: unknown): string {
  const r = record as { name?: unknown; spec?: { version?: unknown } };
  return `${String(r.name)}@${String(r.spec?.version)}`;
}

export type CollectionName = keyof typeof collectionChecks;

/** Why a record of a collection is malformed, or undefined when it is fine. */
export function recordProblem(collection: CollectionName, key: string, record: unknown): string | undefined {
  loadChecks.checked += 1;
  const check = collectionChecks[collection];
  const keyResult = check.key.safeParse(key);
  if (!keyResult.success) return `key ${JSON.stringify(key.slice(0, 80))} is not a valid ${collection} key`;
  const parsed = check.record.safeParse(record);
  if (!parsed.success) return describeIssues(parsed.error.issues);
  if (check.ownKey && check.ownKey(record) !== key) return `record is stored under ${JSON.stringify(key)} but names itself ${JSON.stringify(check.ownKey(record))}`;
  return undefined;
}

function vouch(): undefined {
  loadChecks.vouched += 1;
  return undefined;
}

function checkUnlessVouched(collection: CollectionName, key: string, record: unknown, vouched: Vouched): string | undefined {
  if (vouched(collection, key)) return vouch();
  return recordProblem(collection, key, record);
}

/** A store record that is malformed where the hub cannot safely carry on without it. */
export class StoreRecordError extends Error {
  readonly code = 'StoreRecordInvalid';
}

/** A record left out at load, kept aside for the operator to look at. */
export interface SkippedRecord {
  collection: string;
  key: string;
  problem: string;
  record: unknown;
}

/**
 * What happens to a malformed record at load, per collection of store.json:
 * - devices, tokens, placements are skipped (and kept aside): a device can join again, a token
 *   be created again, and a placement is recomputed by the next placement pass; one bad record
 *   must not keep the hub, and every good device's workloads, down.
 * - workloads and desired states refuse the load: leaving out a workload would make the hub
 *   stop its instances on every device, and leaving out a desired state would hand out a
 *   generation number again that agents already applied. Agents keep running their last
 *   desired state while the operator fixes the file the message names.
 */
const skippable: Record<(typeof controlCollections)[number], boolean> = {
  devices: true,
  tokens: true,
  placements: true,
  workloads: false,
  desired: false,
  // Like workloads: leaving a Job or CronJob out would stop it on every device.
  jobs: false,
  cronJobs: false,
  // Run history only: a malformed list is set aside, the Jobs keep running.
  jobRuns: true,
  // A lost release or rollout would strand the devices pinned to it; a lost window would let
  // installs happen where a deny window forbids them; a lost pin would put a device back on the
  // workload's template behind the rollout's back. A gate verdict can be earned again.
  releases: false,
  rollouts: false,
  maintenanceWindows: false,
  gateVerdicts: true,
  releasePins: false,
  // Leaving a Service out would cut its users off from their endpoints on every device.
  services: false,
  // Leaving a ConfigMap or Secret out would take it off every device that reads it.
  configObjects: false,
};

function entriesOf(source: string, collection: string, value: unknown): [string, unknown][] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreRecordError(`${source}: "${collection}" is not an object of records; refusing to start over it`);
  }
  return Object.entries(value);
}

/** Whether a record loaded under `key` comes from a file whose digest vouches for it (checked-digest.ts). */
export type Vouched = (collection: string, key: string) => boolean;

/**
 * Checks every record of a migrated store.json that no digest vouches for; returns the document
 * with null-prototype collections.
 */
export function checkedControlDocument(doc: StoreDocument, source: string, vouched: Vouched = () => false): { doc: StoreDocument; skipped: SkippedRecord[] } {
  const out = emptyDocument();
  const skipped: SkippedRecord[] = [];
  for (const collection of controlCollections) {
    const target = out[collection] as Record<string, unknown>;
    for (const [key, record] of entriesOf(source, collection, doc[collection])) {
      const problem = checkUnlessVouched(collection, key, record, vouched);
      if (problem === undefined) {
        target[key] = record;
        continue;
      }
      if (!skippable[collection]) {
        throw new StoreRecordError(`${source}: ${collection}[${JSON.stringify(key.slice(0, 80))}] is malformed (${problem}); refusing to start: fix or remove that record`);
      }
      skipped.push({ collection, key, problem, record });
    }
  }
  return { doc: out, skipped };
}

const observedCheck = { devices: 'observedDevices', reported: 'reported', events: 'events' } as const;

/** Observed state is rebuilt by the devices: every malformed record is skipped. */
export function checkedObservedDocument(raw: unknown, source: string, vouched: Vouched = () => false): { doc: ObservedDocument; skipped: SkippedRecord[] } {
  const out = emptyObserved();
  const skipped: SkippedRecord[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { doc: out, skipped: [{ collection: '(document)', key: '', problem: 'not a JSON object', record: raw }] };
  }
  for (const collection of observedCollections) {
    const value = (raw as Record<string, unknown>)[collection];
    let entries: [string, unknown][];
    try {
      entries = entriesOf(source, collection, value);
    } catch {
      skipped.push({ collection, key: '', problem: 'not an object of records', record: value });
      continue;
    }
    const target = out[collection] as Record<string, unknown>;
    for (const [key, record] of entries) {
      const problem = vouched(collection, key) ? vouch() : recordProblem(observedCheck[collection], key, record);
      if (problem === undefined) target[key] = record;
      else skipped.push({ collection, key, problem, record });
    }
  }
  return { doc: out, skipped };
}

/**
 * The same check on the way in: a record that would be skipped or refused at the next load is
 * refused now, so a bug elsewhere fails one request instead of poisoning every placement pass.
 */
export function assertStorable(collection: CollectionName, key: string, record: unknown): void {
  const problem = recordProblem(collection, key, record);
  if (problem !== undefined) throw new StoreRecordError(`refusing to store ${collection}[${JSON.stringify(key.slice(0, 80))}]: ${problem}`);
}

/** How many entries a device map built by checkRolloutDevices holds (stored maps never change). */
const mapSizes = new WeakMap<object, number>();

/**
 * assertStorable for a rollout's next revision, checking only what is not stored already: the
 * header (everything but the per-device entries) and the device entries that are not the very
 * objects stored now. Stored entries were checked when they were stored and are never changed in
 * place, so the result is the whole check's at a cost that follows the devices a transition
 * moved, not the rollout's size. Resolves to the ids of the entries that are new, replaced or gone,
 * and the device map to store: the stored one itself when the caller passed it back, else one walk
 * builds it with copies (`copyEntry`) of the changed entries (a walk, a spread and a key count of
 * a 10,000-entry map were each a few ms per write).
 */
export function checkRolloutDevices(
  next: RolloutState,
  previous: Readonly<RolloutState> | undefined,
  copyEntry: (entry: RolloutState['status']['devices'][string]) => RolloutState['status']['devices'][string] = (e) => e,
): { changed: Set<string>; devices: RolloutState['status']['devices'] } {
  const devices = next.status.devices;
  const before: Readonly<Record<string, unknown>> = previous?.status.devices ?? {};
  const changed = new Set<string>();
  let out = devices;
  // The very map stored (a write that changed no device, e.g. clearing the outbox): nothing to walk.
  if (devices !== before) {
    out = {};
    let present = 0;
    let size = 0;
    for (const id in devices) {
      const entry = devices[id] as RolloutState['status']['devices'][string];
      const stored = Object.hasOwn(before, id);
      size += 1;
      if (stored) present += 1;
      if (before[id] !== entry || !stored) {
        changed.add(id);
        out[id] = copyEntry(entry);
      } else out[id] = entry;
    }
    mapSizes.set(out, size);
    // Every stored id is still there when as many are present as are stored: no second walk then.
    if (present !== (mapSizes.get(before) ?? Object.keys(before).length)) for (const id in before) if (!Object.hasOwn(devices, id)) changed.add(id);
  }
  if (previous === undefined || previous.spec.waves.length !== next.spec.waves.length) {
    assertStorable('rollouts', next.name, next);
    return { changed, devices: out };
  }
  // The whole record's check with no devices: the rest of its refinement is about device entries.
  assertStorable('rollouts', next.name, { ...next, status: { ...next.status, devices: {} } });
  const waves = next.spec.waves.length;
  for (const id of changed) {
    if (!Object.hasOwn(devices, id)) continue;
    const problem = rolloutDeviceProblem(id, devices[id], waves);
    if (problem !== undefined) throw new StoreRecordError(`refusing to store rollouts[${JSON.stringify(next.name.slice(0, 80))}]: status.devices[${JSON.stringify(id.slice(0, 80))}]: ${problem}`);
  }
  return { changed, devices: out };
}

/** What the whole rollout's check would say about one of its device entries. */
function rolloutDeviceProblem(id: string, entry: unknown, waves: number): string | undefined {
  if (!deviceIdSchema.safeParse(id).success) return 'not a device id';
  const parsed = rolloutDeviceSchema.safeParse(entry);
  if (!parsed.success) return describeIssues(parsed.error.issues);
  return parsed.data.wave >= waves ? `wave: no wave ${parsed.data.wave}` : undefined;
}
