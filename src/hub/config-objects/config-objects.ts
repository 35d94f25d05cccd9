import type { Logger } from '../../common/log.js';
import { configValuesSchema, type ConfigValues, type ReleaseConfigPin, type DesiredConfig, type DesiredCronJob, type DesiredInstance, type DesiredJob, type DesiredState, type Template } from '../../protocol/index.js';
import { eventSubjects, type DeviceRecord } from '../store/records.js';
import type { ConfigObjectRepository, HubStore } from '../store/repository.js';
import { deliverConfigs } from './config-delivery.js';
import { configObjectKey, versionOf, type ConfigObjectRecord } from './config-records.js';
import { decryptAtRest } from './data-key.js';
import { planConfigPace } from './config-pace-inputs.js';
import type { PaceResult } from './config-pacing.js';

/**
 * The hub's ConfigMaps and Secrets: the store, the data key, and what the desired pass asks of them
 * (each device's configs, instances' config revisions). Problems (a missing object, a device that
 * cannot receive a Secret) become one Warning event on the workload per change.
 */
export class ConfigObjects {
  private readonly lastProblems = new Set<string>();
  private readonly lastHalts = new Set<string>();
  /** Whether a paced change is under way: devices' reports then decide the next step (the hub asks for a pass on each). */
  moving = false;
  /** When time alone moves a paced change next (an instance stable, or late): the desired pass looks again then. */
  nextCheckAt: number | undefined;

  constructor(
    readonly store: ConfigObjectRepository,
    readonly dataKey: Buffer,
    private readonly events: Pick<HubStore, 'events'>['events'],
    private readonly now: () => Date,
    private readonly log: Logger,
    /** Where the pace of changes reads workloads and reports (config-pace-inputs.ts); without it, changes are not paced. */
    private readonly fleet?: Pick<HubStore, 'workloads' | 'deviceState'>,
  ) {}

  /** The same objects, with the desired pass's events written through `events` (the controllers' view of the store). */
  withEvents(events: Pick<HubStore, 'events'>['events']): ConfigObjects {
    return new ConfigObjects(this.store, this.dataKey, events, this.now, this.log, this.fleet);
  }

  /** A Secret's values in clear, for `get secret --show-values` by an admin and for sealing. */
  secretValues(record: ConfigObjectRecord): ConfigValues {
    if (!record.encrypted) return record.values ?? {};
    return configValuesSchema.parse(JSON.parse(decryptAtRest(this.dataKey, record.name, record.encrypted).toString('utf8')));
  }

  /** Whether any object exists, or any device was sent one (then it may have to be taken back). */
  async any(published: Iterable<{ configs?: readonly unknown[] }>): Promise<boolean> {
    if ((await this.store.snapshot()).length > 0) return true;
    for (const d of published) if (d.configs?.length) return true;
    return false;
  }

  /**
   * Each device's instances with their config revisions, and its configs (need to know). A device
   * whose release pins an object's version (`pins`) gets that version while it is kept, else the newest.
   */
  async attach(
    wanted: Map<string, DesiredInstance[]>,
    devices: readonly DeviceRecord[],
    jobParts: ReadonlyMap<string, { jobs: DesiredJob[]; cronJobs: DesiredCronJob[] }> | undefined,
    pins: ReadonlyMap<string, readonly ReleaseConfigPin[]> = new Map(),
    published: ReadonlyMap<string, Readonly<DesiredState>> = new Map(),
    /**
     * Some devices only (the desired controller's targeted pass): the pace sees only their part
     * of a change, so none of them moves to a newer version here; whole passes move the pace.
     */
    partial = false,
  ): Promise<Map<string, DesiredConfig[]>> {
    const stored = new Map((await this.store.snapshot()).map((o) => [configObjectKey(o.kind, o.name), o]));
    const pace = this.fleet ? await planConfigPace({ wanted, stored, pins, published, devices, fleet: this.fleet, now: this.now(), advance: !partial }) : undefined;
    if (!partial) {
      this.moving = pace?.moving ?? false;
      this.nextCheckAt = pace?.nextCheckAt;
    }
    const byId = new Map(devices.map((d) => [d.id, d]));
    const input = new Map<string, { instances: DesiredInstance[]; jobTemplates: { owner: { kind: 'Job' | 'CronJob'; name: string }; template: Template }[] }>();
    for (const deviceId of new Set([...wanted.keys(), ...(jobParts?.keys() ?? [])])) {
      const parts = jobParts?.get(deviceId);
      const jobTemplates = [
        ...(parts?.jobs ?? []).map((j) => ({ owner: { kind: 'Job' as const, name: j.name }, template: j.spec.template })),
        ...(parts?.cronJobs ?? []).map((c) => ({ owner: { kind: 'CronJob' as const, name: c.name }, template: c.spec.jobTemplate.template })),
      ];
      input.set(deviceId, { instances: wanted.get(deviceId) ?? [], jobTemplates });
    }
    const result = deliverConfigs({
      devices: input,
      lookup: (kind, name, deviceId) => {
        const record = stored.get(configObjectKey(kind, name));
        const pin = pins.get(deviceId)?.find((p) => p.kind === kind && p.name === name);
        // A release's pin first (its rollout paces it), then the pace of changes, then the newest.
        const version = pin?.version ?? pace?.held.get(deviceId)?.get(configObjectKey(kind, name));
        return record && version !== undefined ? (versionOf(record, version) ?? record) : record;
      },
      boxKey: (deviceId) => {
        const key = byId.get(deviceId)?.facts?.boxKey;
        return key === undefined ? undefined : Buffer.from(key, 'base64');
      },
      secretPlaintext: (record) => Buffer.from(JSON.stringify(this.secretValues(record))),
      dataKey: this.dataKey,
    });
    for (const [deviceId, instances] of result.instances) if (wanted.has(deviceId)) wanted.set(deviceId, instances);
    await this.recordProblems(result.problems);
    if (pace && !partial) await this.recordHalts(pace.halts);
    return result.configs;
  }

  /** After an apply stored them. */
  recordApplied(records: readonly ConfigObjectRecord[], now: string): Promise<void> {
    for (const r of records) this.log.info(`${r.kind.toLowerCase()} ${r.name}: version ${r.version} stored at ${now} (${r.keys.length} keys)`);
    return Promise.resolve();
  }

  /** One Warning event per stopped pace (per object version and failing device), on the failing workload. */
  private async recordHalts(halts: PaceResult['halts']): Promise<void> {
    const current = new Set<string>();
    for (const h of halts) {
      const key = `${h.kind}/${h.name}@${h.version}\n${h.deviceId}\n${h.instance}`;
      current.add(key);
      if (this.lastHalts.has(key)) continue;
      const message = `${h.kind.toLowerCase()} ${h.name} version ${h.version}: paced change stopped, ${h.held} device(s) kept on the earlier version: instance ${h.instance} on ${h.deviceId} is ${h.why} after the change (fix it, or apply the earlier content again)`;
      this.log.warn(message);
      await this.events.append(eventSubjects.workload(h.workload), { time: this.now().toISOString(), type: 'Warning', reason: 'ConfigChangeHalted', message });
    }
    this.lastHalts.clear();
    for (const key of current) this.lastHalts.add(key);
  }

  private async recordProblems(problems: ReturnType<typeof deliverConfigs>['problems']): Promise<void> {
    const current = new Set<string>();
    for (const p of problems) {
      // Filed under the object that references it: a Job's problem in the Job's history.
      const subject = p.owner.kind === 'Job' ? eventSubjects.job(p.owner.name) : p.owner.kind === 'CronJob' ? eventSubjects.cronJob(p.owner.name) : eventSubjects.workload(p.owner.name);
      const key = `${subject}\n${p.deviceId}\n${p.message}`;
      current.add(key);
      if (this.lastProblems.has(key)) continue;
      this.log.warn(`${subject} on ${p.deviceId}: ${p.message}`);
      await this.events.append(subject, { time: this.now().toISOString(), type: 'Warning', reason: p.reason, message: `${p.deviceId}: ${p.message}` });
    }
    this.lastProblems.clear();
    for (const key of current) this.lastProblems.add(key);
  }
}
