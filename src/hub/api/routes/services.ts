import type { FastifyInstance } from 'fastify';
import { writeQuerySchema, type ServiceRecord, type ServiceView } from '../../../protocol/index.js';
import type { EndpointPlan } from '../../services/endpoints.js';
import type { HubStore } from '../../store/repository.js';
import { eventSubjects } from '../../store/records.js';
import { notFound } from '../http-error.js';
import { checked, nameParam } from '../params.js';

export interface ServiceRouteDeps {
  store: HubStore;
  /** The endpoints as last computed (src/hub/services). */
  plan(): Promise<EndpointPlan>;
  changed(): void;
}

function view(service: ServiceRecord, plan: EndpointPlan): ServiceView {
  const status = plan.status.get(service.name);
  return {
    name: service.name,
    labels: service.labels,
    spec: service.spec,
    createdAt: service.createdAt,
    endpoints: status?.endpoints ?? [],
    notReady: status?.notReady ?? [],
    usedBy: status?.usedBy ?? [],
  };
}

/** Services (issue 14): applied through `POST /v1/apply`; listed, described and deleted here. */
export function registerServiceRoutes(app: FastifyInstance, deps: ServiceRouteDeps): void {
  app.get('/v1/services', async () => {
    const plan = await deps.plan();
    const services = (await deps.store.services.list()).sort((a, b) => a.name.localeCompare(b.name));
    return { items: services.map((s) => view(s, plan)) };
  });

  app.get('/v1/services/:name', async (request) => {
    const name = nameParam(request.params, 'service');
    const service = await deps.store.services.get(name);
    if (!service) throw notFound(`service ${name}`);
    return { ...view(service, await deps.plan()), events: await deps.store.events.list(eventSubjects.service(name)) };
  });

  app.delete('/v1/services/:name', async (request) => {
    const name = nameParam(request.params, 'service');
    checked(writeQuerySchema, request.query, 'query');
    if (!(await deps.store.services.delete(name))) throw notFound(`service ${name}`);
    deps.changed();
    return { kind: 'Service', name, action: 'deleted' };
  });
}
