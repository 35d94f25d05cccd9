import type { FastifyInstance } from 'fastify';
import { applyRequestSchema, type ApplyResult } from '../../../protocol/index.js';
import { eventSubjects } from '../../store/records.js';
import type { HubStore } from '../../store/repository.js';
import { ManifestError, parseManifests, recordFor } from '../../workloads/manifests.js';
import { workloadView, type FleetState } from '../../workloads/workload-view.js';
import { badRequest, notFound } from '../http-error.js';
import { checked, pathParam } from '../params.js';

export interface WorkloadRouteDeps {
  store: HubStore;
  now: () => Date;
  /** Recompute desired states after a change, and wait for it (so `get` right after shows it). */
  reconcile(): Promise<void>;
  unplacedReasons: ReadonlyMap<string, string>;
  /** Release, Rollout and MaintenanceWindow documents of an apply (src/hub/rollouts). */
  rolloutKinds?: {
    isMine(doc: unknown): boolean;
    prepare(docs: readonly { index: number; doc: unknown }[], now: string): Promise<{ problems: string[] }>;
    apply(prepared: { problems: string[] }, now: string): Promise<ApplyResult['results']>;
  };
}

async function fleetState(deps: WorkloadRouteDeps): Promise<FleetState> {
  const [desired, reported, devices, placements] = await Promise.all([deps.store.deviceState.allDesired(), deps.store.deviceState.allReported(), deps.store.devices.list(), deps.store.placements.list()]);
  const autoscaled = new Map(placements.flatMap((p) => (p.autoscaledReplicas !== undefined ? [[p.workload, p.autoscaledReplicas] as const] : [])));
  return { desired, reported, devices: new Map(devices.map((d) => [d.id, d])), unplacedReasons: deps.unplacedReasons, autoscaled };
}

export function registerWorkloadRoutes(app: FastifyInstance, deps: WorkloadRouteDeps): void {
  app.post('/v1/apply', async (request): Promise<ApplyResult> => {
    const body = checked(applyRequestSchema, request.body, 'body');
    const now = deps.now().toISOString();
    // Releases, rollouts and windows are checked with the rest before anything is stored.
    const mine = deps.rolloutKinds;
    const rolloutDocs = mine ? body.manifests.flatMap((doc, index) => (mine.isMine(doc) ? [{ index, doc }] : [])) : [];
    const prepared = mine && rolloutDocs.length > 0 ? await mine.prepare(rolloutDocs, now) : undefined;
    let manifests;
    try {
      manifests = parseManifests(mine ? body.manifests.filter((doc) => !mine.isMine(doc)) : body.manifests);
    } catch (err) {
      if (err instanceof ManifestError) throw badRequest([...(prepared?.problems ?? []), err.message].join('\n'));
      throw err;
    }
    if (prepared && prepared.problems.length > 0) throw badRequest(prepared.problems.join('\n'));
    const planned = await Promise.all(manifests.map(async (m) => recordFor(m, await deps.store.workloads.get(m.metadata.name), now)));
    const changed = planned.filter((p) => p.action !== 'unchanged').map((p) => p.record);
    if (changed.length > 0) {
      await deps.store.workloads.putAll(changed);
      for (const p of planned.filter((x) => x.action !== 'unchanged')) {
        await deps.store.events.append(eventSubjects.workload(p.record.name), { time: now, type: 'Normal', reason: p.action === 'created' ? 'Created' : 'Updated', message: `${p.action} (revision ${p.record.revision})` });
      }
      await deps.reconcile();
    }
    const workloadResults = planned.map((p) => ({ kind: 'Workload', name: p.record.name, action: p.action }));
    if (!mine || !prepared) return { results: workloadResults };
    const rolloutResults = await mine.apply(prepared, now);
    if (rolloutResults.some((r) => r.action !== 'unchanged')) await deps.reconcile();
    return { results: [...workloadResults, ...rolloutResults] };
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
    if (!(await deps.store.workloads.delete(name))) throw notFound(`workload ${name}`);
    await deps.reconcile();
    return { kind: 'Workload', name, action: 'deleted' };
  });
}
