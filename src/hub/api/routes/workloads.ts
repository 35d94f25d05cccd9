import type { FastifyInstance } from 'fastify';
import { applyRequestSchema, writeQuerySchema, type ApplyResult } from '../../../protocol/index.js';
import { eventSubjects } from '../../store/records.js';
import type { HubStore } from '../../store/repository.js';
import { ManifestError, parseManifests, recordFor } from '../../workloads/manifests.js';
import { workloadView, type FleetState } from '../../workloads/workload-view.js';
import { parseJobManifests, planJobApply } from '../../jobs/job-manifests.js';
import { badRequest, notFound } from '../http-error.js';
import { checked, pathParam } from '../params.js';

export interface WorkloadRouteDeps {
  store: HubStore;
  now: () => Date;
  /**
   * Asks for a placement pass after a durable change; resolves once a pass that started after
   * the call has run. Writes answer without waiting for it unless the caller asks (`?wait=true`).
   */
  passAfterWrite(): Promise<void>;
  unplacedReasons: ReadonlyMap<string, string>;
  /** Release, Rollout and MaintenanceWindow documents of an apply (src/hub/rollouts). */
  rolloutKinds?: {
    isMine(doc: unknown): boolean;
    prepare(docs: readonly { index: number; doc: unknown }[], now: string): Promise<{ problems: string[] }>;
    apply(prepared: { problems: string[] }, now: string): Promise<ApplyResult['results']>;
  };
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
  return { desired, reported, devices: new Map(devices.map((d) => [d.id, d])), unplacedReasons: deps.unplacedReasons, autoscaled };
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
    try {
      manifests = parseManifests(mine ? body.manifests.filter((doc) => !mine.isMine(doc)) : body.manifests);
      jobManifests = parseJobManifests(body.manifests);
    } catch (err) {
      if (err instanceof ManifestError) throw badRequest([...(prepared?.problems ?? []), err.message].join('\n'));
      throw err;
    }
    if (prepared && prepared.problems.length > 0) throw badRequest(prepared.problems.join('\n'));
    // Jobs and CronJobs (src/hub/jobs): planned (and refused) before anything is stored.
    const jobApply = await planJobApply(jobManifests, deps.store, now).catch((err: unknown) => {
      throw err instanceof ManifestError ? badRequest(err.message) : err;
    });
    // All of the request's workloads go into the document in one step (putAll changes it before
    // it first waits), so one commit holds all of them or none: an apply is all or nothing.
    const { planned, committed } = await oneAtATime(async () => {
      const planned = await Promise.all(manifests.map(async (m) => recordFor(m, await deps.store.workloads.get(m.metadata.name), now)));
      const changed = planned.filter((p) => p.action !== 'unchanged').map((p) => p.record);
      // Nothing changed: still answer only once what we read is durable (another request's
      // change of the same workload may be on its way to disk).
      const committed = changed.length > 0 ? deps.store.workloads.putAll(changed) : deps.store.settled();
      committed.catch(() => undefined); // awaited just below; a failure answers this request
      return { planned, committed };
    });
    await committed;
    const changed = planned.filter((x) => x.action !== 'unchanged');
    for (const p of changed) {
      await deps.store.events.append(eventSubjects.workload(p.record.name), { time: now, type: 'Normal', reason: p.action === 'created' ? 'Created' : 'Updated', message: `${p.action} (revision ${p.record.revision})` });
    }
    // Jobs share the commit pacing but not the workloads' commit: an apply of both kinds is
    // all-or-nothing per kind (job records are checked before anything is stored).
    const jobsChanged = await jobApply.commit();
    // Releases, rollouts and windows (src/hub/rollouts) are stored by their own repositories.
    const rolloutResults = mine && prepared ? await mine.apply(prepared, now) : [];
    const rolloutsChanged = rolloutResults.some((r) => r.action !== 'unchanged');
    if (changed.length > 0 || jobsChanged || rolloutsChanged) await placed(request.query);
    return { results: [...planned.map((p) => ({ kind: 'Workload', name: p.record.name, action: p.action })), ...jobApply.results, ...rolloutResults] };
  });

  app.get('/v1/workloads', async () => {
    const fleet = await fleetState(deps);
    const workloads = (await deps.store.workloads.list()).sort((a, b) => a.name.localeCompare(b.name));
    return { items: workloads.map((w) => workloadView(w, fleet)) };
  });

  app.get('/v1/workloads/:name', async (request) => {
    const name = pathParam(request.params, 'name');
    const workload = await deps.store.workloads.get(name);
    if (!workload) throw notFound(`workload ${name}`);
    return { ...workloadView(workload, await fleetState(deps)), events: await deps.store.events.list(eventSubjects.workload(name)) };
  });

  app.delete('/v1/workloads/:name', async (request) => {
    const name = pathParam(request.params, 'name');
    checked(writeQuerySchema, request.query, 'query');
    if (!(await deps.store.workloads.delete(name))) throw notFound(`workload ${name}`);
    await placed(request.query);
    return { kind: 'Workload', name, action: 'deleted' };
  });
}
