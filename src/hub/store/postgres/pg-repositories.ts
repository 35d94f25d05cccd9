// PostgreSQL repositories of devices, tokens, events, workloads, placements and per-device state.
// Every read goes to the database (several hubs share it: nothing is cached here); each read
// returns new objects, so what a caller gets is its own copy and snapshots never change later.
import { splitDevice as split, type ObservedDevice, type StoredDevice } from '../document.js';
import { eventSubjects, type DesiredState, type DeviceEvent, type DeviceRecord, type PlacementRecord, type ReportedState, type TokenRecord, type WorkloadRecord } from '../records.js';
import { assertStorable } from '../record-check.js';
import { HardwareIdTakenError, type DeviceRepository, type DeviceStateRepository, type EventRepository, type PlacementRepository, type TokenRepository, type WorkloadRepository } from '../repository.js';
import type { RecordsDb } from './records-db.js';
import { reportIsNewer } from '../../../protocol/index.js';

const EVENTS_PER_SUBJECT = 50;
const WORKLOAD_PREFIX = eventSubjects.workload('');
const DEVICE_PREFIX = eventSubjects.device('');

export const kinds = {
  devices: 'devices',
  observed: 'observed',
  tokens: 'tokens',
  events: 'events',
  workloads: 'workloads',
  placements: 'placements',
  desired: 'desired',
  reported: 'reported',
} as const;


/** Migration 002: one device record per hardware id. */
const HARDWARE_ID_INDEX = 'ep_records_device_hardware_unique';

/** PostgreSQL's unique_violation (SQLSTATE 23505) on `constraint`. */
function isUniqueViolation(err: unknown, constraint: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505' && (err as { constraint?: unknown }).constraint === constraint;
}

const merge = (stored: unknown, observed: unknown): DeviceRecord => ({ ...(stored as StoredDevice), ...(observed as ObservedDevice | undefined) }) as DeviceRecord;

/**
 * Runs the read-modify-writes of one device one after another in this process. Each reads the
 * database (an await) before it queues its lazy write, so a status arriving while the same
 * device's facts were being read was undone by the facts' older copy, and the device stayed
 * "unknown" (found by test/integration/three-hubs.test.ts). lowdb never had this: its reads and
 * writes of the in-memory document do not wait.
 */
function keyedSerializer(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, work) => {
    const next = (tails.get(key) ?? Promise.resolve()).then(work, work);
    const tail = next.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}

export function pgDeviceRepository(db: RecordsDb): DeviceRepository {
  const oneAtATime = keyedSerializer();
  const readMerged = async (id: string): Promise<DeviceRecord | undefined> => {
    const [stored, observed] = await Promise.all([db.get(kinds.devices, id), db.get(kinds.observed, id)]);
    return stored === undefined ? undefined : merge(stored, observed);
  };
  const store = async (device: DeviceRecord, durability: 'sync' | 'lazy'): Promise<void> => {
    const { stored, observed } = split(device);
    assertStorable('devices', device.id, stored);
    if (durability === 'lazy') {
      db.later(kinds.devices, device.id, () => stored, true);
      db.later(kinds.observed, device.id, () => observed, true);
      return;
    }
    try {
      await db.transaction(async (tx) => {
        await tx.put(kinds.devices, device.id, stored);
        await tx.put(kinds.observed, device.id, observed);
      });
    } catch (err) {
      // Another hub registered this board first (migration 002's unique index): nothing was stored.
      if (isUniqueViolation(err, HARDWARE_ID_INDEX)) {
        const rows = await db.query<{ key: string }>(`SELECT key FROM ep_records WHERE kind = 'devices' AND doc ->> 'hardwareId' = $1`, [device.hardwareId]);
        throw new HardwareIdTakenError(device.hardwareId, rows[0]?.key);
      }
      throw err;
    }
  };
  // Observed state is this hub's to write (a device talks to one hub at a time): replaced whole, lazily.
  const observe = (id: string, change: (observed: ObservedDevice) => void): Promise<boolean> =>
    oneAtATime(id, async () => {
      const [stored, current] = await Promise.all([db.get(kinds.devices, id), db.get(kinds.observed, id)]);
      if (stored === undefined) return false;
      const draft: ObservedDevice = { ...(current as ObservedDevice | undefined) };
      change(draft);
      db.later(kinds.observed, id, () => draft, true);
      return true;
    });
  return {
    get: readMerged,
    has: async (id) => (await db.get(kinds.devices, id)) !== undefined,
    credentialHash: async (id) => ((await db.get(kinds.devices, id)) as StoredDevice | undefined)?.credentialHash,
    touch: (id, lastSeen) => observe(id, (o) => void (o.lastSeen = lastSeen)),
    observe,
    findByHardwareId: async (hardwareId) => {
      const rows = await db.query<{ key: string }>(`SELECT key FROM ep_records WHERE kind = 'devices' AND doc ->> 'hardwareId' = $1 ORDER BY key LIMIT 1`, [hardwareId]);
      return rows[0] ? readMerged(rows[0].key) : undefined;
    },
    view: readMerged,
    list: async () => {
      const [stored, observed] = await Promise.all([db.all(kinds.devices), db.all(kinds.observed)]);
      const seen = new Map(observed);
      return stored.map(([id, doc]) => merge(doc, seen.get(id)));
    },
    snapshot: async () => {
      const [stored, observed] = await Promise.all([db.all(kinds.devices), db.all(kinds.observed)]);
      const seen = new Map(observed);
      return stored.map(([id, doc]) => merge(doc, seen.get(id)));
    },
    count: async () => {
      // A flush the timer started may still be committing (flush() then finds nothing queued): wait for it too.
      await db.flush();
      await db.settled();
      const rows = await db.query<{ total: string; online: string }>(
        `SELECT count(*) AS total, count(*) FILTER (WHERE o.doc -> 'status' ->> 'state' = 'online') AS online
         FROM ep_records d LEFT JOIN ep_records o ON o.kind = 'observed' AND o.key = d.key WHERE d.kind = 'devices'`,
      );
      return { total: Number(rows[0]?.total ?? 0), online: Number(rows[0]?.online ?? 0) };
    },
    put: (device, durability) => store(structuredClone(device), durability),
    update: (id, change, durability) =>
      oneAtATime(id, async () => {
        if (durability === 'lazy') {
          const current = await readMerged(id);
          if (!current) return undefined;
          change(current);
          await store(current, 'lazy');
          return structuredClone(current);
        }
        return db.transaction(async (tx) => {
          const stored = await tx.get(kinds.devices, id, true);
          if (stored === undefined) return undefined;
          const draft = merge(stored, await tx.get(kinds.observed, id, true));
          change(draft);
          const parts = split(draft);
          assertStorable('devices', id, parts.stored);
          await tx.put(kinds.devices, id, parts.stored);
          await tx.put(kinds.observed, id, parts.observed);
          return structuredClone(draft);
        });
      }),
    delete: async (id) => {
      for (const kind of [kinds.observed, kinds.reported, kinds.desired]) db.drop(kind, id);
      db.drop(kinds.events, eventSubjects.device(id));
      return db.transaction(async (tx) => {
        if ((await tx.delete(kinds.devices, [id])) === 0) return undefined;
        await tx.delete(kinds.observed, [id]);
        await tx.delete(kinds.desired, [id]);
        await tx.delete(kinds.reported, [id]);
        await tx.delete(kinds.events, [eventSubjects.device(id)]);
        // Replicas placed here are free again: the next placement pass puts them elsewhere.
        const freed: { workload: string; ordinal: string }[] = [];
        const changed: [string, PlacementRecord][] = [];
        for (const [workload, doc] of await tx.all(kinds.placements, true)) {
          const placement = doc as PlacementRecord;
          let touched = false;
          for (const [ordinal, deviceId] of Object.entries(placement.replicas)) {
            if (deviceId !== id) continue;
            delete placement.replicas[ordinal];
            if (placement.peripherals) delete placement.peripherals[ordinal];
            freed.push({ workload: placement.workload, ordinal });
            touched = true;
          }
          if (touched) changed.push([workload, placement]);
        }
        await tx.putMany(kinds.placements, changed);
        return { freed };
      });
    },
  };
}

export function pgTokenRepository(db: RecordsDb): TokenRepository {
  return {
    get: async (id) => (await db.get(kinds.tokens, id)) as TokenRecord | undefined,
    list: async () => (await db.all(kinds.tokens)).map(([, doc]) => doc as TokenRecord),
    put: async (token) => {
      assertStorable('tokens', token.id, token);
      await db.transaction((tx) => tx.put(kinds.tokens, token.id, token));
    },
    update: async (id, change, durability = 'sync') => {
      const apply = (doc: unknown): TokenRecord => {
        const token = structuredClone(doc as TokenRecord);
        change(token);
        assertStorable('tokens', id, token);
        return token;
      };
      // A token with a use limit is changed at once under the row's lock: two hubs each taking a
      // join's use lazily both saw a use left, and both boards joined on a --max-uses 1 token (the
      // limit is the operator's promise of how many boards it registers). Unlimited tokens have no
      // last use to race for: their use rides with the join's device write.
      const current = durability === 'lazy' ? await db.get(kinds.tokens, id) : undefined;
      if (durability === 'lazy' && (current === undefined || (current as TokenRecord).maxUses === undefined)) {
        if (current === undefined) return undefined;
        const next = apply(current);
        // Applied again to the row as locked when it is written: another hub's use in between counts too.
        db.later(kinds.tokens, id, (doc) => (doc === undefined ? undefined : apply(doc)));
        return next;
      }
      return db.transaction(async (tx) => {
        const locked = await tx.get(kinds.tokens, id, true);
        if (locked === undefined) return undefined;
        const next = apply(locked);
        await tx.put(kinds.tokens, id, next);
        return next;
      });
    },
  };
}

/**
 * `fenced`: the controllers' view (every hub's API and ingest append events too, unfenced): an
 * append is made under this hub's lease term and dropped if another hub leads when it is written.
 */
export function pgEventRepository(db: RecordsDb, { fenced = false } = {}): EventRepository {
  return {
    append: async (subject, event) => {
      // History is kept only for what exists (see the lowdb repository for why).
      if (subject.startsWith(WORKLOAD_PREFIX) && (await db.get(kinds.workloads, subject.slice(WORKLOAD_PREFIX.length))) === undefined) return;
      if (subject.startsWith(DEVICE_PREFIX) && (await db.get(kinds.devices, subject.slice(DEVICE_PREFIX.length))) === undefined) return;
      const stored = { ...event };
      // At most a history's worth of appends stays queued (during an outage): older ones would be trimmed anyway.
      db.later(kinds.events, subject, (list) => [...((list as DeviceEvent[] | undefined) ?? []), stored].slice(-EVENTS_PER_SUBJECT), { keepLast: EVENTS_PER_SUBJECT }, fenced);
    },
    list: async (subject) => ((await db.get(kinds.events, subject)) as DeviceEvent[] | undefined) ?? [],
  };
}

export function pgWorkloadRepository(db: RecordsDb): WorkloadRepository {
  return {
    get: async (name) => (await db.get(kinds.workloads, name)) as WorkloadRecord | undefined,
    list: async () => (await db.all(kinds.workloads)).map(([, doc]) => doc as WorkloadRecord),
    putAll: async (workloads) => {
      for (const w of workloads) assertStorable('workloads', w.name, w);
      await db.transaction((tx) => tx.putMany(kinds.workloads, workloads.map((w) => [w.name, w])));
    },
    delete: async (name) => {
      db.drop(kinds.events, eventSubjects.workload(name));
      return db.transaction(async (tx) => {
        if ((await tx.delete(kinds.workloads, [name])) === 0) return false;
        await tx.delete(kinds.placements, [name]);
        // A new workload of the same name starts with its own history, not this one's.
        await tx.delete(kinds.events, [eventSubjects.workload(name)]);
        return true;
      });
    },
  };
}

/** Placements are the controllers' (fenced): written only under the current lease term. */
export function pgPlacementRepository(db: RecordsDb): PlacementRepository {
  return {
    get: async (workload) => (await db.get(kinds.placements, workload)) as PlacementRecord | undefined,
    list: async () => (await db.all(kinds.placements)).map(([, doc]) => doc as PlacementRecord),
    put: async (placement) => {
      assertStorable('placements', placement.workload, placement);
      await db.transaction((tx) => tx.put(kinds.placements, placement.workload, placement), { fenced: true });
    },
    delete: async (workload) => {
      await db.transaction((tx) => tx.delete(kinds.placements, [workload]), { fenced: true });
    },
  };
}

export function pgDeviceStateRepository(db: RecordsDb): DeviceStateRepository {
  const asMap = async <T>(kind: string): Promise<Map<string, T>> => new Map((await db.all(kind)) as [string, T][]);
  return {
    desired: async (id) => (await db.get(kinds.desired, id)) as DesiredState | undefined,
    allDesired: () => asMap<DesiredState>(kinds.desired),
    desiredSnapshot: () => asMap<DesiredState>(kinds.desired),
    // Desired documents are the controllers' (fenced); sync, a generation is never handed out twice.
    putDesired: (id, desired) =>
      db.transaction(
        async (tx) => {
          // FOR SHARE on the device's row: a delete of it (its first statement) waits for this
          // write to commit and then deletes the document too; a delete committed first leaves
          // no row here, and nothing is written.
          if (!(await tx.exists(kinds.devices, id, 'share'))) return false;
          await tx.put(kinds.desired, id, desired);
          return true;
        },
        { fenced: true },
      ),
    reported: async (id) => (await db.get(kinds.reported, id)) as ReportedState | undefined,
    allReported: () => asMap<ReportedState>(kinds.reported),
    reportedSnapshot: () => asMap<ReportedState>(kinds.reported),
    putReported: async (id, reported) => {
      const stored = structuredClone(reported);
      // Applied to the row as it is when written: a report this hub held through an outage does not
      // replace a newer one the device sent meanwhile through another hub.
      db.later(kinds.reported, id, (current) => (current !== undefined && reportIsNewer(current as ReportedState, stored) ? current : stored), true);
    },
    scan: async (visit) => {
      const [desired, reported] = await Promise.all([asMap<DesiredState>(kinds.desired), asMap<ReportedState>(kinds.reported)]);
      for (const [id, d] of desired) visit(id, d, reported.get(id));
      for (const [id, r] of reported) if (!desired.has(id)) visit(id, undefined, r);
    },
  };
}
