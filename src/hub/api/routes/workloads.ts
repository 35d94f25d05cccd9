import type { FastifyInstance } from 'fastify';
import { applyRequestSchema, writeQuerySchema, type ApplyResult, type MaintenanceWindowRecord, type ReleaseRecord } from '../../../protocol/index.js';
import { eventSubjects } from '../../store/records.js';
import { ReleaseImmutableError, type HubStore } from '../../store/repository.js';
import { ManifestError, parseManifests, recordFor } from '../../workloads/manifests.js';
import { workloadView, type FleetState } from '../../workloads/workload-view.js';
import { parseJobManifests, planJobApply } from '../../jobs/job-manifests.js';
import { parseServiceManifests, portConflicts, serviceRecordFor, ServiceManifestError } from '../../services/service-manifests.js';
import { isConfigObjectDocument, pinnedConfigVersions, planConfigApply, unknownConfigPins } from '../../config-objects/config-apply.js';
import type { ConfigObjects } from '../../config-objects/config-objects.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { checked, nameParam } from '../params.js';

export interface WorkloadRouteDeps {
  store: HubStore;
  now: () => Date;
  /**
   * Asks for a placement pass after a durable change; resolves once a pass that started after
   * the call has run. Writes answer without waiting for it unless the caller asks (`?wait=true`).
   */
  passAfterWrite(): Promise<void>;
  /** Why workloads are not (fully) placed, as the running pass says now: read at each request (it changes with the term). */
  unplacedReasons(): ReadonlyMap<string, string>;
  /** Release, Rollout and MaintenanceWindow documents of an apply (src/hub/rollouts). */
  rolloutKinds?: {
    isMine(doc: unknown): boolean;
    prepare(docs: readonly { index: number; doc: unknown }[], now: string): Promise<{ problems: string[] }>;
    /** Release and MaintenanceWindow records for the apply's one write, with their results. */
    records(prepared: { problems: string[] }, now: string): Promise<{ releases: ReleaseRecord[]; maintenanceWindows: MaintenanceWindowRecord[]; results: ApplyResult['results'] }>;
    /** After the write: Rollouts (the rollout controller's own records). */
    afterWrite(prepared: { problems: string[] }, windowsChanged: boolean): Promise<ApplyResult['results']>;
  };
  /** Services changed (issue 14): their endpoints are sent again. */
  servicesChanged?(): void;
  /** ConfigMap and Secret documents of an apply (src/hub/config-objects). */
  configObjects?: ConfigObjects;
}

/**
 * Runs `work` alone: an apply reads the stored workloads and writes its changes in one step, so
 * two concurrent applies of one workload see each other (one says created, the other configured
 * or unchanged, and createdAt stays the first one's). The step holds no I/O (the commit is
 * awaited after it), so writers still share commits.
 */
function serialized(): <T>(work: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (work) => {
    const turn = queue.then(work, work);
    queue = turn.catch(() => undefined);
    return turn;
  };
}

async function fleetState(deps: WorkloadRouteDeps): Promise<FleetState> {
  const [desired, reported, devices, placements] = await Promise.all([deps.store.deviceState.allDesired(), deps.store.deviceState.allReported(), deps.store.devices.list(), deps.store.placements.list()]);
  const autoscaled = new Map(placements.flatMap((p) => (p.autoscaledReplicas !== undefined ? [[p.workload, p.autoscaledReplicas] as const] : [])));
  return { desired, reported, devices: new Map(devices.map((d) => [d.id, d])), unplacedReasons: deps.unplacedReasons(), autoscaled };
}

export function registerWorkloadRoutes(app: FastifyInstance, deps: WorkloadRouteDeps): void {
  const oneAtATime = serialized();
  /** After the change is durable: start a placement pass, and wait for it only if asked to. */
  const placed = async (query: unknown): Promise<void> => {
    const pass = deps.passAfterWrite();
    if (checked(writeQuerySchema, query, 'query').wait === 'true') await pass;
  };

  app.post('/v1/apply', async (request): Promise<ApplyResult> => {
    checked(writeQuerySchema, request.query, 'query');
    const body = checked(applyRequestSchema, request.body, 'body');
    const now = deps.now().toISOString();
    // Releases, rollouts and windows are checked with the rest before anything is stored.
    const mine = deps.rolloutKinds;
    const rolloutDocs = mine ? body.manifests.flatMap((doc, index) => (mine.isMine(doc) ? [{ index, doc }] : [])) : [];
    const prepared = mine && rolloutDocs.length > 0 ? await mine.prepare(rolloutDocs, now) : undefined;
    let manifests;
    let jobManifests;
    let serviceManifests;
    try {
      manifests = parseManifests(mine ? body.manifests.filter((doc) => !mine.isMine(doc)) : body.manifests);
      jobManifests = parseJobManifests(body.manifests);
      serviceManifests = parseServiceManifests(body.manifests);
    } catch (err) {
      if (err instanceof ManifestError || err instanceof ServiceManifestError) throw badRequest([...(prepared?.problems ?? []), err.message].join('\n'));
      throw err;
    }
    if (prepared && prepared.problems.length > 0) throw badRequest(prepared.problems.join('\n'));
    const configDocs = body.manifests.flatMap((doc, index) => (isConfigObjectDocument(doc) ? [{ index, doc }] : []));
    if (configDocs.length > 0 && !deps.configObjects) throw badRequest('this hub does not take ConfigMap or Secret documents');
    // Jobs and CronJobs (src/hub/jobs): planned (and refused) before anything is stored.
    const jobApply = await planJobApply(jobManifests, deps.store, now).catch((err: unknown) => {
      throw err instanceof ManifestError ? badRequest(err.message) : err;
    });
    // Every kind of the request goes into the document in one step and one write (applyDocuments
    // checks all of it first, then changes the document before it waits), so a commit holds all of the
    // apply or none of it, across kinds. Rollouts follow the write: the controller owns their records.
    const { planned, committed, rolloutPlan, services, configApply } = await oneAtATime(async () => {
      const planned = await Promise.all(manifests.map(async (m) => recordFor(m, await deps.store.workloads.get(m.metadata.name), now)));
      const rolloutPlan = mine && prepared ? await mine.records(prepared, now) : undefined;
      const stored = serviceManifests.length > 0 ? await deps.store.services.list() : [];
      const conflicts = portConflicts(serviceManifests, stored);
      if (conflicts.length > 0) throw new HttpError(409, 'ServicePortTaken', conflicts.join('\n'));
      const services = serviceManifests.map(({ manifest }) => serviceRecordFor(manifest, stored.find((s) => s.name === manifest.metadata.name), now));
      // ConfigMaps and Secrets: versions that releases (stored, or new in this apply) pin stay in their history.
      const newReleases = rolloutPlan?.releases ?? [];
      const configApply = deps.configObjects && configDocs.length > 0 ? await planConfigApply(configDocs, deps.configObjects, now, pinnedConfigVersions([...(await deps.store.releases.list()), ...newReleases])) : undefined;
      if (configApply && configApply.problems.length > 0) throw badRequest(configApply.problems.join('\n'));
      if (newReleases.some((r) => r.spec.configs?.length)) {
        const unknownPins = unknownConfigPins(newReleases, await deps.store.configObjects.list(), configApply?.records ?? []);
        if (unknownPins.length > 0) throw badRequest(unknownPins.join('\n'));
      }
      const batch = {
        configObjects: configApply?.records ?? [],
        services: services.filter((s) => s.action !== 'unchanged').map((s) => s.record),
        workloads: planned.filter((p) => p.action !== 'unchanged').map((p) => p.record),
        jobs: jobApply.jobs,
        cronJobs: jobApply.cronJobs,
        releases: rolloutPlan?.releases ?? [],
        maintenanceWindows: rolloutPlan?.maintenanceWindows ?? [],
      };
      const any = Object.values(batch).some((list) => list.length > 0);
      // Nothing changed: still answer only once what we read is durable (another request's
      // change of the same object may be on its way to disk).
      const committed = any ? deps.store.applyDocuments(batch) : deps.store.settled();
      committed.catch(() => undefined); // awaited just below; a failure answers this request
      return { planned, committed, rolloutPlan, services, configApply };
    });
    await committed.catch((err: unknown) => {
      throw err instanceof ReleaseImmutableError ? new HttpError(409, err.code, err.message) : err;
    });
    const changed = planned.filter((x) => x.action !== 'unchanged');
    for (const p of changed) {
      await deps.store.events.append(eventSubjects.workload(p.record.name), { time: now, type: 'Normal', reason: p.action === 'created' ? 'Created' : 'Updated', message: `${p.action} (revision ${p.record.revision})` });
    }
    await jobApply.recordEvents();
    const jobsChanged = jobApply.jobs.length + jobApply.cronJobs.length > 0;
    const windowsChanged = (rolloutPlan?.maintenanceWindows.length ?? 0) > 0;
    const rolloutResults = mine && prepared ? [...(rolloutPlan?.results ?? []), ...(await mine.afterWrite(prepared, windowsChanged))] : [];
    const rolloutsChanged = rolloutResults.some((r) => r.action !== 'unchanged');
    if (services.some((s) => s.action !== 'unchanged')) deps.servicesChanged?.();
    const configsChanged = (configApply?.records.length ?? 0) > 0;
    if (configsChanged) await deps.configObjects?.recordApplied(configApply?.records ?? [], now);
    if (changed.length > 0 || jobsChanged || rolloutsChanged || configsChanged) await placed(request.query);
    return {
      results: [
        ...(configApply?.results ?? []),
        ...planned.map((p) => ({ kind: 'Workload', name: p.record.name, action: p.action })),
        ...jobApply.results,
        ...rolloutResults,
        ...services.map((s) => ({ kind: 'Service', name: s.record.name, action: s.action })),
      ],
    };
  });

  app.get('/v1/workloads', async () => {
    const fleet = await fleetState(deps);
    const workloads = (await deps.store.workloads.list()).sort((a, b) => a.name.localeCompare(b.name));
    return { items: workloads.map((w) => workloadView(w, fleet)) };
  });

  app.get('/v1/workloads/:name', async (request) => {
    const name = nameParam(request.params, 'workload');
    const workload = await deps.store.workloads.get(name);
    if (!workload) throw notFound(`workload ${name}`);
    return { ...workloadView(workload, await fleetState(deps)), events: await deps.store.events.list(eventSubjects.workload(name)) };
  });

  app.delete('/v1/workloads/:name', async (request) => {
    const name = nameParam(request.params, 'workload');
    checked(writeQuerySchema, request.query, 'query');
    if (!(await deps.store.workloads.delete(name))) throw notFound(`workload ${name}`);
    await placed(request.query);
    return { kind: 'Workload', name, action: 'deleted' };
  });
}
