import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { releaseKey, writeQuerySchema, type ConfigKind, type ConfigObjectView, type ReleasePin, type ReleaseRecord, type Template } from '../../protocol/index.js';
import { isAdmin } from '../api/auth.js';
import { HttpError, notFound } from '../api/http-error.js';
import { checked, nameParam } from '../api/params.js';
import type { HubStore } from '../store/repository.js';
import { templateConfigRefs } from './config-delivery.js';
import type { ConfigObjects } from './config-objects.js';
import type { ConfigObjectRecord } from './config-records.js';

export interface ConfigRouteDeps {
  objects: ConfigObjects;
  store: Pick<HubStore, 'workloads' | 'jobs' | 'cronJobs' | 'releases' | 'releasePins'>;
  passAfterWrite(): Promise<void>;
}

const showQuerySchema = z.strictObject({ showValues: z.enum(['true', 'false']).optional() });

/** Workloads, Jobs and CronJobs whose templates reference `kind/name`, as `workload/x`, `job/y`. */
async function usersOf(deps: ConfigRouteDeps, kind: ConfigKind, name: string): Promise<string[]> {
  const uses = (template: Template): boolean => templateConfigRefs(template).some((r) => r.kind === kind && r.name === name);
  const [workloads, jobs, cronJobs] = await Promise.all([deps.store.workloads.list(), deps.store.jobs.list(), deps.store.cronJobs.list()]);
  return [
    ...workloads.filter((w) => uses(w.spec.template)).map((w) => `workload/${w.name}`),
    ...jobs.filter((j) => uses(j.spec.template)).map((j) => `job/${j.name}`),
    ...cronJobs.filter((c) => uses(c.spec.jobTemplate.template)).map((c) => `cronjob/${c.name}`),
  ].sort();
}

/**
 * The releases that pin `kind/name` and that devices run now, with how many: deleting the object
 * would leave those devices without the content their release promised them (ConfigMissing), and
 * a revert to that release could not bring it back.
 */
export function pinnedInUse(kind: ConfigKind, name: string, pins: ReadonlyMap<string, Readonly<ReleasePin>>, releases: readonly ReleaseRecord[]): { release: string; devices: number }[] {
  const pinning = new Set(releases.filter((r) => (r.spec.configs ?? []).some((p) => p.kind === kind && p.name === name)).map((r) => releaseKey(r.name, r.spec.version)));
  if (pinning.size === 0) return [];
  const counts = new Map<string, number>();
  for (const pin of pins.values()) {
    const key = releaseKey(pin.release.name, pin.release.version);
    if (pinning.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([release, devices]) => ({ release, devices }));
}

/** Text keys back as written, the rest as base64 under binaryData. */
function splitValues(record: ConfigObjectRecord, values: Record<string, string>): Pick<ConfigObjectView, 'data' | 'binaryData'> {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (record.textKeys.includes(k)) data[k] = Buffer.from(v, 'base64').toString('utf8');
    else binaryData[k] = v;
  }
  return { data, ...(Object.keys(binaryData).length > 0 ? { binaryData } : {}) };
}

/** The object's versions, newest first, with the releases that pin each. */
async function versionsOf(deps: ConfigRouteDeps, record: ConfigObjectRecord): Promise<ConfigObjectView['versions']> {
  const pinnedBy = new Map<string, string[]>();
  for (const r of await deps.store.releases.list()) {
    for (const pin of r.spec.configs ?? []) {
      if (pin.kind === record.kind && pin.name === record.name) pinnedBy.set(pin.version, [...(pinnedBy.get(pin.version) ?? []), `${r.name}@${r.spec.version}`]);
    }
  }
  const all = [{ version: record.version, storedAt: record.updatedAt }, ...(record.history ?? []).map((v) => ({ version: v.version, storedAt: v.storedAt }))];
  return all.map((v) => ({ ...v, pinnedBy: (pinnedBy.get(v.version) ?? []).sort() }));
}

export function registerConfigRoutes(app: FastifyInstance, deps: ConfigRouteDeps): void {
  const view = async (record: ConfigObjectRecord, showValues: boolean): Promise<ConfigObjectView> => ({
    kind: record.kind,
    name: record.name,
    labels: record.labels,
    annotations: record.annotations,
    immutable: record.immutable,
    version: record.version,
    keys: record.keys,
    sizes: record.sizes,
    usedBy: await usersOf(deps, record.kind, record.name),
    versions: await versionsOf(deps, record),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(showValues ? splitValues(record, record.kind === 'Secret' ? deps.objects.secretValues(record) : (record.values ?? {})) : {}),
  });
  for (const [kind, plural] of [
    ['ConfigMap', 'configmaps'],
    ['Secret', 'secrets'],
  ] as const) {
    const what = kind === 'ConfigMap' ? 'configmap' : 'secret';
    app.get(`/v1/${plural}`, async () => ({ items: await Promise.all((await deps.objects.store.list(kind)).map((r) => view(r, false))) }));
    app.get(`/v1/${plural}/:name`, async (request) => {
      const name = nameParam(request.params, what);
      const query = checked(showQuerySchema, request.query, 'query');
      const record = await deps.objects.store.get(kind, name);
      if (!record) throw notFound(`${what} ${name}`);
      // A ConfigMap's values are shown always; a Secret's only when an admin asks for them.
      const show = kind === 'ConfigMap' || query.showValues === 'true';
      if (kind === 'Secret' && show && !isAdmin(request)) throw new HttpError(403, 'Forbidden', 'only an admin may see the values of a secret');
      return view(record, show);
    });
    app.delete(`/v1/${plural}/:name`, async (request) => {
      const name = nameParam(request.params, what);
      const query = checked(writeQuerySchema, request.query, 'query');
      const [pins, releases] = await Promise.all([deps.store.releasePins.snapshot(), deps.store.releases.list()]);
      const inUse = pinnedInUse(kind, name, pins, releases);
      if (inUse.length > 0) {
        const which = inUse.map((u) => `${u.release} (${u.devices} device(s))`).join(', ');
        throw new HttpError(409, 'ConfigObjectPinned', `${what} ${name} is pinned by release ${which}: roll those devices to a release that does not pin it before deleting it`);
      }
      if (!(await deps.objects.store.delete(kind, name))) throw notFound(`${what} ${name}`);
      const pass = deps.passAfterWrite();
      if (query.wait === 'true') await pass;
      return { kind, name, action: 'deleted' };
    });
  }
}
