import test from 'ava';
import { cronJobSpecSchema, jobSpecSchema, type JobRunRecord } from '../../../src/protocol/index.js';
import { assignJobs, desiredJobParts } from '../../../src/hub/jobs/job-placement.js';
import { cronJobStatus, DEADLINE_GRACE_MS, jobStatus } from '../../../src/hub/jobs/job-status.js';
import type { CronJobRecord, JobRecord, StoredJobRun } from '../../../src/hub/store/job-records.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const NOW = Date.UTC(2026, 0, 1);

function job(over: Record<string, unknown>, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    name: 'j',
    uid: 'aaaaaaaaaaaaaaaa',
    labels: {},
    annotations: {},
    spec: jobSpecSchema.parse({ template: { runtime: 'process', command: ['/bin/true'] }, ...over }),
    createdAt: new Date(NOW).toISOString(),
    updatedAt: new Date(NOW).toISOString(),
    assigned: [],
    ...extra,
  };
}

function device(id: string, online: boolean, labels: Record<string, string> = { fleet: 'x' }): DeviceRecord {
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels,
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(NOW).toISOString(),
    joinedWithToken: 't',
    status: { state: online ? 'online' : 'offline', since: new Date(NOW).toISOString(), agentVersion: '0.1.0', bootId: 'b' } as DeviceRecord['status'],
    facts: gatewayFacts(),
  };
}

function run(deviceId: string, over: Partial<JobRunRecord>): StoredJobRun {
  return { id: `r-${Math.random()}`, owner: { kind: 'Job', name: 'j' }, jobUid: 'aaaaaaaaaaaaaaaa', attempt: 1, finishedAt: new Date(NOW).toISOString(), output: [], reason: 'completed', device: deviceId, receivedAt: new Date(NOW).toISOString(), ...over };
}

test('everyDevice assigns every matching device, offline ones too; scheduled picks one online device', (t) => {
  const devices = [device('d1', true), device('d2', true), device('d3', false), device('other', true, { fleet: 'y' })];
  const every = assignJobs([job({ placement: 'everyDevice', selector: { matchLabels: { fleet: 'x' } } })], devices, NOW);
  t.deepEqual(every.get('j')?.assigned, ['d1', 'd2', 'd3']);
  const one = assignJobs([job({ selector: { matchLabels: { fleet: 'x' } } })], devices, NOW);
  t.is(one.get('j')?.assigned.length, 1);
  t.not(one.get('j')?.assigned[0], 'd3');
});

test('no new devices after the deadline; a suspended Job gains no device and is sent marked suspended (the device keeps its progress)', (t) => {
  const devices = [device('d1', true)];
  const late = job({ placement: 'everyDevice', activeDeadlineSeconds: 10 });
  t.is(assignJobs([late], devices, NOW + 11_000).size, 0);
  const suspended = job({ placement: 'everyDevice', suspend: true }, { assigned: ['d1'] });
  t.is(assignJobs([suspended], devices, NOW).size, 0);
  t.deepEqual(desiredJobParts([suspended], [], devices, NOW).get('d1')?.jobs.map((j) => [j.name, j.suspend]), [['j', true]]);
  t.is(desiredJobParts([job({ placement: 'everyDevice' }, { assigned: ['d1'] })], [], devices, NOW).get('d1')?.jobs[0]?.suspend, undefined);
  const sent = desiredJobParts([job({ activeDeadlineSeconds: 10 }, { assigned: ['d1'] })], [], devices, NOW).get('d1')?.jobs[0];
  t.is(sent?.deadlineAt, new Date(NOW + 10_000).toISOString());
});

test('status: everyDevice counts complete devices; a device fails past backoffLimit or on a FailJob code', (t) => {
  const every = job({ placement: 'everyDevice', backoffLimit: 1, exitCodePolicy: [{ action: 'FailJob', exitCodes: [42] }] }, { assigned: ['d1', 'd2', 'd3'] });
  const runs = [run('d1', {}), run('d2', { reason: 'failed', exitCode: 42 })];
  const status = jobStatus(every, runs, NOW);
  t.is(status.completions, '1/3');
  t.deepEqual(status.devices.map((d) => d.state), ['Complete', 'Failed', 'Pending']);
  t.is(status.state, 'Running');
  t.false(status.finished);
  const retried = jobStatus(every, [run('d1', { reason: 'failed', exitCode: 1 }), run('d1', { reason: 'failed', exitCode: 1 })], NOW);
  t.is(retried.devices[0]?.state, 'Failed');
});

test('status: scheduled completions are distinct completion indexes; runs of an older uid do not count', (t) => {
  const scheduled = job({ completions: 3 }, { assigned: ['d1'] });
  const runs = [run('d1', { completionIndex: 0 }), run('d1', { completionIndex: 0 }), run('d1', { completionIndex: 1 }), run('d1', { completionIndex: 2, jobUid: 'bbbbbbbbbbbbbbbb' })];
  const status = jobStatus(scheduled, runs, NOW);
  t.is(status.completions, '2/3');
  t.is(status.state, 'Running');
  const done = jobStatus(scheduled, [...runs, run('d1', { completionIndex: 2 })], NOW);
  t.is(done.state, 'Complete');
  t.true(done.finished);
});

test('a Job claiming an MCU goes to devices with such an MCU attached, also while it is offline (being flashed); others get none', (t) => {
  const withMcu = (id: string, online: boolean): DeviceRecord => {
    const d = device(id, true);
    return { ...d, facts: { ...gatewayFacts(), mcus: [{ id: `stm32f103-${id}`, model: 'stm32f103', application: 'env-node', serial: id, firmwareVersion: '1.0.0', port: '/dev/ttyUSB0', online }] } };
  };
  const without = { ...device('plain', true), facts: { ...gatewayFacts(), mcus: [] } };
  const claim = { template: { runtime: 'process', command: ['/bin/true'], peripherals: [{ kind: 'mcu', mcu: 'stm32f103' }] } };
  const every = assignJobs([job({ ...claim, placement: 'everyDevice' })], [withMcu('flashing', false), withMcu('idle', true), without], NOW);
  t.deepEqual(every.get('j')?.assigned, ['flashing', 'idle']);
  const one = assignJobs([job(claim)], [withMcu('flashing', false), without], NOW);
  t.deepEqual(one.get('j')?.assigned, ['flashing']);
  const none = assignJobs([job(claim)], [without], NOW);
  t.deepEqual(none.get('j')?.assigned, []);
});

test('a device that sent a start notice and went silent is Failed once the deadline and its grace passed, not Running forever', (t) => {
  const j = job({ placement: 'everyDevice', activeDeadlineSeconds: 60 }, { assigned: ['d1', 'd2'] });
  const runs = [run('d1', { reason: 'running', finishedAt: undefined, startedAt: new Date(NOW).toISOString() })];
  t.is(jobStatus(j, runs, NOW + 60_000).devices[0]?.state, 'Running', 'within the grace, records may still be on their way');
  const late = jobStatus(j, runs, NOW + 60_000 + DEADLINE_GRACE_MS);
  t.deepEqual(late.devices.map((d) => d.state), ['Failed', 'Failed']);
  t.true(late.finished);
  t.is(jobStatus(job({ placement: 'everyDevice' }, { assigned: ['d1'] }), runs, NOW + 10 * 86_400_000).devices[0]?.state, 'Running', 'without a deadline a run may take as long as it takes');
});

test('CronJob: start notices from a deleted device, or silent past the template deadline, are unaccounted, not ACTIVE', (t) => {
  const spec = (deadline?: number) => cronJobSpecSchema.parse({ schedule: '* * * * *', jobTemplate: { template: { runtime: 'process', command: ['true'] }, ...(deadline ? { activeDeadlineSeconds: deadline } : {}) } });
  const cron = (deadline?: number): CronJobRecord => ({ name: 'tick', labels: {}, annotations: {}, spec: spec(deadline), revision: 'aaaaaaaa', createdAt: new Date(NOW).toISOString(), updatedAt: new Date(NOW).toISOString() });
  const started = (device: string) => run(device, { owner: { kind: 'CronJob', name: 'tick' }, reason: 'running', finishedAt: undefined, startedAt: new Date(NOW).toISOString() });
  const runs = [started('d1'), started('gone')];
  const devices = new Set(['d1']);
  const fresh = cronJobStatus(cron(300), runs, { now: NOW + 1_000, devices });
  t.deepEqual(fresh.active.map((r) => r.device), ['d1']);
  t.deepEqual(fresh.unaccounted.map((u) => [u.run.device, u.why]), [['gone', 'its device was deleted']]);
  const silent = cronJobStatus(cron(300), runs, { now: NOW + 300_000 + DEADLINE_GRACE_MS, devices });
  t.deepEqual(silent.active, []);
  t.regex(silent.unaccounted.find((u) => u.run.device === 'd1')?.why ?? '', /activeDeadlineSeconds \(300s\)/);
  t.deepEqual(cronJobStatus(cron(), runs, { now: NOW + 10 * 86_400_000, devices }).active.map((r) => r.device), ['d1'], 'no deadline: still running');
});
