import test from 'ava';
import { releaseManifestSchema, releaseSpecSchema, maintenanceWindowManifestSchema, describeIssues } from '../../../src/protocol/index.js';

const manifest = (resources: unknown) => ({
  apiVersion: 'edgepilot.io/v1',
  kind: 'Release',
  metadata: { name: 'tilt' },
  spec: { version: '2.1.0', workloads: { 'tilt-reader': { runtime: 'container', image: 'local/tilt:2.1.0', resources } } },
});

test('a Release manifest takes resources as users write them (cpu: 500m) and stores them canonically', (t) => {
  const parsed = releaseManifestSchema.parse(manifest({ requests: { cpu: '500m', memory: '64Mi' } }));
  const template = parsed.spec.workloads['tilt-reader'];
  t.deepEqual(template?.resources.requests, { cpuMillis: 500, memoryBytes: 64 * 1024 * 1024 });
  // The stored (canonical) schema takes the parsed spec back unchanged.
  t.deepEqual(releaseSpecSchema.parse(JSON.parse(JSON.stringify(parsed.spec))), parsed.spec);
});

test('a Release manifest refuses canonical field names and the stored schema refuses manifest ones', (t) => {
  const r = releaseManifestSchema.safeParse(manifest({ requests: { cpuMillis: 500 } }));
  t.false(r.success);
  const stored = releaseSpecSchema.safeParse(manifest({ requests: { cpu: '500m' } }).spec);
  t.false(stored.success);
});

test('a MaintenanceWindow manifest: the window is the spec, named by metadata; problems name spec fields', (t) => {
  const ok = maintenanceWindowManifestSchema.parse({
    apiVersion: 'edgepilot.io/v1',
    kind: 'MaintenanceWindow',
    metadata: { name: 'plant-3-night' },
    spec: { selector: { matchLabels: { site: 'plant-3' } }, schedule: '0 2 * * *', duration: '3h', timeZone: 'Europe/Berlin' },
  });
  t.is(ok.spec.name, 'plant-3-night');
  t.is(ok.spec.mode, 'allow');
  const bad = maintenanceWindowManifestSchema.safeParse({ apiVersion: 'edgepilot.io/v1', kind: 'MaintenanceWindow', metadata: { name: 'x' }, spec: { schedule: '0 2 * * *', duration: '3h', timeZone: 'Mars/Olympus' } });
  t.false(bad.success);
  if (!bad.success) t.regex(describeIssues(bad.error.issues), /spec\.timeZone/);
});
