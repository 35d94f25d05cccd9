// The hub's store in PostgreSQL (issue 15): several hubs share one database. Every read goes to
// the database; writes a user is told about commit before they resolve; lazy writes (observed
// state, a join's token use) are batched and reach the database within a second, or with the
// next synchronous write. Controller-owned records are written only under the current leader
// lease term (fencing, see records-db.ts): placements, desired documents, rollouts, release pins
// and gate verdicts.
import { describePostgresUrl } from './postgres-url.js';
import pg from 'pg';
import type { ApiTokenRepository } from '../api-token-records.js';
import type { ApplyBatch } from '../apply-batch.js';
import type { SharedFirmwareRepository } from '../firmware-records.js';
import type {
  ConfigObjectRepository,
  CronJobRepository,
  DeviceRepository,
  DeviceStateRepository,
  EventRepository,
  GateVerdictRepository,
  HubStore,
  JobRepository,
  JobRunRepository,
  MaintenanceWindowRepository,
  PlacementRepository,
  ReleasePinRepository,
  ReleaseRepository,
  RolloutRepository,
  ServiceRepository,
  SharedAuditRepository,
  SharedSettings,
  StoreHealth,
  TokenRepository,
  WorkloadRepository,
} from '../repository.js';
import { pgFailure } from './errors.js';
import { pgApiTokenRepository } from './pg-api-tokens.js';
import { pgAuditRepository } from './pg-audit.js';
import { pgFirmwareRepository } from './pg-firmware.js';
import { migrate, readMigrations } from './migrate.js';
import {
  pgApplyDocuments,
  pgConfigObjectRepository,
  pgCronJobRepository,
  pgGateVerdictRepository,
  pgJobRepository,
  pgJobRunRepository,
  pgMaintenanceWindowRepository,
  pgReleasePinRepository,
  pgReleaseRepository,
  pgRolloutRepository,
  pgServiceRepository,
} from './pg-control-repositories.js';
import { pgDeviceRepository, pgDeviceStateRepository, pgEventRepository, pgPlacementRepository, pgTokenRepository, pgWorkloadRepository } from './pg-repositories.js';
import { DEFAULT_CONNECTIONS, RecordsDb } from './records-db.js';
import { pgRolloutRequestQueue } from './pg-rollout-requests.js';
import type { RolloutRequestQueue } from '../rollout-requests.js';

/**
 * A request never waits longer than this for a new connection to the server or an answer: PostgreSQL
 * down is an error, not a hang. (Waiting for one of the pool's busy connections is bounded apart, by
 * records-db.ts's BUSY_WAIT_MS: a busy hub is not a degraded one.)
 */
const CONNECT_TIMEOUT_MS = 3000;
const QUERY_TIMEOUT_MS = 10_000;
/** Connections of the leader lease's own pool (one renewal at a time; one spare while a broken one is replaced). */
const LEASE_POOL_SIZE = 2;
/** How often the store checks, with nothing else happening, that PostgreSQL answers (for /healthz). */
const PING_MS = 2000;

export interface PostgresStoreOptions {
  /** The lease term this hub's controller writes are made under (see leader-lease.ts); absent: no fencing. */
  fence?: () => bigint | undefined;
  log?: (message: string) => void;
  /** Said once: which migrations were applied at start. */
  info?: (message: string) => void;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

/** `host:port` of a postgres:// URL, for messages (never the password). */

/** A pool that never hangs a caller and survives the database going away (idle clients' errors are logged). */
export function postgresPool(url: string, log: (message: string) => void, max = DEFAULT_CONNECTIONS): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, keepAlive: true });
  pool.on('error', (err) => log(`store: PostgreSQL connection lost (${err.message}); the pool reconnects on demand`));
  // The pool listens for an idle client's errors only. A checked-out one (a transaction between
  // two queries, the leader lease, a migration) whose connection drops emits 'error' on itself,
  // and with no listener that ended the hub (PostgreSQL stopped under three hubs: one exited).
  // Nothing to do here: its pending or next query fails with StoreUnavailable, and the client is
  // released as broken there.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Connects, applies the schema migrations, and returns the store. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresHubStore> {
  const log = options.log ?? ((m: string) => console.warn(m));
  const where = describePostgresUrl(url);
  const pool = postgresPool(url, log, options.poolSize);
  try {
    const applied = await migrate(pool, await readMigrations());
    if (applied.length > 0) (options.info ?? log)(`store: applied migrations ${applied.join(', ')} to PostgreSQL at ${where}`);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw pgFailure(err, where);
  }
  return new PostgresHubStore(new RecordsDb(pool, { fence: options.fence, where, log, connections: options.poolSize ?? DEFAULT_CONNECTIONS }), () => postgresPool(url, log, LEASE_POOL_SIZE));
}

export class PostgresHubStore implements HubStore {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  readonly workloads: WorkloadRepository;
  readonly placements: PlacementRepository;
  readonly deviceState: DeviceStateRepository;
  readonly jobs: JobRepository;
  readonly cronJobs: CronJobRepository;
  readonly jobRuns: JobRunRepository;
  readonly services: ServiceRepository;
  readonly releases: ReleaseRepository;
  readonly rollouts: RolloutRepository;
  readonly maintenanceWindows: MaintenanceWindowRepository;
  readonly gateVerdicts: GateVerdictRepository;
  readonly releasePins: ReleasePinRepository;
  readonly configObjects: ConfigObjectRepository;
  readonly applyDocuments: (batch: ApplyBatch) => Promise<void>;
  readonly settings: SharedSettings;
  readonly apiTokens: ApiTokenRepository;
  readonly firmware: SharedFirmwareRepository;
  readonly audit: SharedAuditRepository;
  readonly rolloutRequests: RolloutRequestQueue;
  private readonly ping: NodeJS.Timeout;
  private closed: Promise<void> | undefined;
  private controllers: HubStore | undefined;
  private leasePool: pg.Pool | undefined;

  constructor(
    private readonly db: RecordsDb,
    /** Opens the leader lease's pool (see leaderLeasePool). */
    private readonly openLeasePool: () => pg.Pool = () => db.pool,
  ) {
    this.devices = pgDeviceRepository(db);
    this.tokens = pgTokenRepository(db);
    this.events = pgEventRepository(db);
    this.workloads = pgWorkloadRepository(db);
    this.placements = pgPlacementRepository(db);
    this.deviceState = pgDeviceStateRepository(db);
    this.jobs = pgJobRepository(db);
    this.cronJobs = pgCronJobRepository(db);
    this.jobRuns = pgJobRunRepository(db);
    this.services = pgServiceRepository(db);
    this.releases = pgReleaseRepository(db);
    this.rollouts = pgRolloutRepository(db);
    this.maintenanceWindows = pgMaintenanceWindowRepository(db);
    this.gateVerdicts = pgGateVerdictRepository(db);
    this.releasePins = pgReleasePinRepository(db);
    this.configObjects = pgConfigObjectRepository(db);
    this.applyDocuments = pgApplyDocuments(db);
    this.apiTokens = pgApiTokenRepository(db);
    this.firmware = pgFirmwareRepository(db);
    this.audit = pgAuditRepository(db);
    this.rolloutRequests = pgRolloutRequestQueue(db);
    this.settings = {
      getOrCreate: (key, value) =>
        db.transaction(async (tx) => {
          if (await tx.insert('settings', key, value)) return { value, created: true };
          return { value: (await tx.get('settings', key)) as string, created: false };
        }),
    };
    // Notices the database coming back (or going) even when no request is being served.
    this.ping = setInterval(() => void db.query('SELECT 1').catch(() => undefined), PING_MS);
    this.ping.unref();
  }

  /**
   * The controllers' view: the same store, with events and Jobs written, and rollout requests
   * taken, under the lease term (an object whose prototype is this store, so everything else is
   * this store's own).
   */
  forControllers(): HubStore {
    this.controllers ??= Object.assign(Object.create(this) as PostgresHubStore, {
      events: pgEventRepository(this.db, { fenced: true }),
      jobs: pgJobRepository(this.db, { fenced: true }),
      rolloutRequests: pgRolloutRequestQueue(this.db, { fenced: true }),
      forControllers: () => this.forControllers(),
    });
    return this.controllers;
  }

  /** The store's pool. */
  get pool(): pg.Pool {
    return this.db.pool;
  }

  /**
   * A pool of the leader lease's own, closed with the store. Sharing the store's, a renewal
   * waited for a connection behind a pass's or a registration storm's transactions, past its
   * connect timeout: the leader let its controllers go, and took them up again a renewal later.
   */
  leaderLeasePool(): pg.Pool {
    this.leasePool ??= this.openLeasePool();
    return this.leasePool;
  }

  health(): StoreHealth {
    return this.db.unavailable === undefined ? { ok: true } : { ok: false, reason: this.db.unavailable };
  }

  settled(): Promise<void> {
    return this.db.settled();
  }

  get commits(): number {
    return this.db.commits;
  }

  close(): Promise<void> {
    clearInterval(this.ping);
    const leasePool = this.leasePool !== this.db.pool ? this.leasePool : undefined;
    this.closed ??= this.db.close().then(() => leasePool?.end());
    return this.closed;
  }
}
