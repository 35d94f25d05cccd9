// Service manifests (src/protocol/schemas/service.ts, src/hub/services/service-manifests.ts):
// what is refused before anything is stored, each problem naming its document and field.
import test from 'ava';
import { parseServiceManifests, portConflicts, serviceRecordFor, ServiceManifestError } from '../../../src/hub/services/service-manifests.js';
import type { ServiceRecord } from '../../../src/protocol/index.js';

const doc = (name: string, spec: Record<string, unknown>): unknown => ({ apiVersion: 'edgepilot.io/v1', kind: 'Service', metadata: { name }, spec });
const good = { selector: { matchLabels: { app: 'web' } }, ports: [{ port: 18080, targetPort: 80 }] };

test('a Service gets defaults (fleet scope, site label, TCP); other kinds are left to their parsers', (t) => {
  const parsed = parseServiceManifests([{ kind: 'Workload' }, doc('web', good)]);
  t.is(parsed.length, 1);
  t.is(parsed[0]?.index, 1);
  t.like(parsed[0]?.manifest.spec, { scope: 'fleet', siteLabel: 'site' });
  t.is(parsed[0]?.manifest.spec.ports[0]?.protocol, 'TCP');
});

test('refused: an empty selector, a port twice, no ports, the reserved mcu-telemetry name, a name twice', (t) => {
  const cases: [unknown[], RegExp][] = [
    [[doc('web', { ...good, selector: {} })], /document 1: spec\.selector: an empty selector would select every workload/],
    [[doc('web', { ...good, ports: [{ port: 1, targetPort: 80 }, { port: 1, targetPort: 81 }] })], /spec\.ports\.1\.port|spec\.ports\[1\]\.port/],
    [[doc('web', { ...good, ports: [] })], /a service needs at least one port/],
    [[doc('mcu-telemetry', good)], /gateways' own MCU telemetry service/],
    [[doc('web', good), doc('web', good)], /document 2: service web appears twice/],
    [[doc('web', { ...good, scope: 'planet' })], /document 1: spec\.scope/],
  ];
  for (const [docs, message] of cases) {
    const err = t.throws(() => parseServiceManifests(docs), { instanceOf: ServiceManifestError });
    t.regex(err?.message ?? '', message);
  }
});

test('a proxy port belongs to one service: another stored or applied service on it is a conflict; re-applying the same is not', (t) => {
  const stored: ServiceRecord = { name: 'db', labels: {}, annotations: {}, spec: { selector: { matchLabels: { app: 'db' }, matchExpressions: [] }, ports: [{ port: 18080, targetPort: 5432, protocol: 'TCP' }], scope: 'fleet', siteLabel: 'site' }, createdAt: 't', updatedAt: 't' };
  const applied = parseServiceManifests([doc('web', good)]);
  t.deepEqual(portConflicts(applied, [stored]), ['document 1: spec.ports[0].port: 18080 is already the port of service db']);
  t.deepEqual(portConflicts(parseServiceManifests([doc('db', { ...good, selector: { matchLabels: { app: 'db' } } })]), [stored]), []);
  t.deepEqual(portConflicts(parseServiceManifests([doc('web', good), doc('api', good)]), []), ['document 2: spec.ports[0].port: 18080 is already the port of service web']);
});

test('applying the same spec again is unchanged and keeps createdAt', (t) => {
  const [first] = parseServiceManifests([doc('web', good)]);
  if (!first) return t.fail();
  const created = serviceRecordFor(first.manifest, undefined, '2026-05-04T12:00:00Z');
  t.is(created.action, 'created');
  t.is(serviceRecordFor(first.manifest, created.record, '2026-05-04T13:00:00Z').action, 'unchanged');
  const [changed] = parseServiceManifests([doc('web', { ...good, scope: 'device' })]);
  if (!changed) return t.fail();
  const configured = serviceRecordFor(changed.manifest, created.record, '2026-05-04T13:00:00Z');
  t.is(configured.action, 'configured');
  t.is(configured.record.createdAt, '2026-05-04T12:00:00Z');
});
