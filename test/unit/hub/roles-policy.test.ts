import test from 'ava';
import { decideAccess, routeAccess, routePolicy } from '../../../src/hub/api/roles/policy.js';
import { auditObject } from '../../../src/hub/api/roles/access-control.js';
import { splitApiToken } from '../../../src/hub/api/roles/api-tokens.js';

test('viewer reads, operator changes the fleet, only admin manages access', (t) => {
  t.true(decideAccess('viewer', 'GET', '/v1/workloads').allowed);
  t.true(decideAccess('viewer', 'HEAD', '/v1/workloads').allowed, 'HEAD follows GET');
  t.false(decideAccess('viewer', 'POST', '/v1/apply').allowed);
  t.true(decideAccess('operator', 'POST', '/v1/apply').allowed);
  t.true(decideAccess('operator', 'POST', '/v1/mcus/:gateway/:mcu/flash').allowed);
  t.true(decideAccess('operator', 'POST', '/v1/rollouts/:name/commands').allowed);
  t.true(decideAccess('operator', 'POST', '/v1/devices/:id/cordon').allowed);
  t.false(decideAccess('operator', 'POST', '/v1/api-tokens').allowed);
  t.false(decideAccess('operator', 'GET', '/v1/audit').allowed);
  t.false(decideAccess('operator', 'DELETE', '/v1/devices/:id').allowed);
  t.true(decideAccess('admin', 'DELETE', '/v1/devices/:id').allowed);
});

test('a route missing from the table is refused to all but admin, with a reason naming it', (t) => {
  const refused = decideAccess('operator', 'POST', '/v1/something-new');
  t.false(refused.allowed);
  t.regex(refused.allowed ? '' : refused.reason, /POST \/v1\/something-new has no entry/);
  t.true(decideAccess('admin', 'POST', '/v1/something-new').allowed);
  t.is(routeAccess('POST', '/v1/something-new'), undefined);
});

test('the refusal names the role, the permission and who holds it', (t) => {
  const refused = decideAccess('viewer', 'DELETE', '/v1/workloads/:name');
  t.false(refused.allowed);
  t.regex(refused.allowed ? '' : refused.reason, /role viewer may not .* needs the operate permission, held by admin, operator/);
});

test('every write route needs more than read; every public route is a GET', (t) => {
  for (const [key, access] of Object.entries(routePolicy)) {
    const [method] = key.split(' ');
    if (method !== 'GET') t.not(access, 'read', key);
    if (access === 'public') t.is(method, 'GET', key);
  }
});

test('audit object: path parameters, applied documents, commands', (t) => {
  t.is(auditObject({ gateway: 'gw-1', mcu: 'm0' }, undefined), 'gateway=gw-1 mcu=m0');
  t.is(auditObject({}, { manifests: [{ kind: 'Workload', metadata: { name: 'web' } }, { kind: 'Job' }] }), 'Workload/web,Job/?');
  t.is(auditObject({ name: 'r1' }, { type: 'pause' }), 'name=r1 type=pause');
  t.true(auditObject({}, { manifests: Array.from({ length: 200 }, () => ({ kind: 'Workload', metadata: { name: 'a-long-name' } })) }).length <= 501);
});

test('API token parts: the name is the part up to the first underscore after the prefix', (t) => {
  t.deepEqual(splitApiToken('epu_alice-2_abc_def-ghi'), { name: 'alice-2', secret: 'abc_def-ghi' });
  t.is(splitApiToken('ep_admin'), undefined);
  t.is(splitApiToken('epu__x'), undefined);
});
