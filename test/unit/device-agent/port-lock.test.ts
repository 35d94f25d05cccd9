import test from 'ava';
import fc from 'fast-check';
import { grantable, PortLockAbortedError, PortLocks, type LockRequest, type PortHolder } from '../../../src/device-agent/gateway/port-lock.js';
import type { AttemptRequest, AttemptResult } from '../../../src/device-agent/jobs/attempt.js';
import { claimedPorts, withPortLock } from '../../../src/device-agent/jobs/port-claims.js';
import type { DeviceEvent, Template } from '../../../src/protocol/index.js';

const flash: PortHolder = { kind: 'flash', name: 'mcu stm32f103-1' };
const job: PortHolder = { kind: 'job', name: 'job dump' };
const request = (id: number, paths: string[], holder: PortHolder = job): LockRequest => ({ id, paths, holder });
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Two names of one port, as a by-id link and its tty are. */
const canonical = async (path: string): Promise<string> => (path === '/dev/serial/by-id/usb-stm' ? '/dev/ttyUSB0' : path);

test('grantable: free ports are granted; a request never overtakes an earlier one on the same port', (t) => {
  const held = new Map([['/dev/ttyUSB0', request(1, ['/dev/ttyUSB0'], flash)]]);
  const waiting = [request(2, ['/dev/ttyUSB0', '/dev/ttyUSB1']), request(3, ['/dev/ttyUSB1']), request(4, ['/dev/ttyUSB2'])];
  t.deepEqual(grantable({ held, waiting }).map((r) => r.id), [4], 'request 3 waits behind 2, which waits for the flash');
  t.deepEqual(grantable({ held: new Map(), waiting }).map((r) => r.id), [2, 4]);
});

test('grantable never hands one port to two requests (property)', (t) => {
  const ports = ['/a', '/b', '/c'];
  const arbitraryRequests = fc.array(fc.subarray(ports, { minLength: 1 }), { maxLength: 8 });
  fc.assert(
    fc.property(arbitraryRequests, fc.subarray(ports), (wants, busy) => {
      const held = new Map(busy.map((p) => [p, request(0, [p], flash)]));
      const granted = grantable({ held, waiting: wants.map((paths, i) => request(i + 1, paths)) });
      const taken = new Set(busy);
      for (const r of granted) {
        for (const p of r.paths) {
          if (taken.has(p)) throw new Error(`${p} granted twice`);
          taken.add(p);
        }
      }
      if (wants.length > 0 && busy.length === 0 && granted[0]?.id !== 1) throw new Error('the first request on free ports is granted');
    }),
  );
  t.pass();
});

test('a job waits for the flash on the same port (named another way), FIFO, and the waiter learns who holds it', async (t) => {
  const locks = new PortLocks(canonical);
  const order: string[] = [];
  const flashLease = await locks.acquire(['/dev/ttyUSB0'], flash);
  let told: PortHolder[] = [];
  const jobLease = locks.acquire(['/dev/serial/by-id/usb-stm'], job, { onWait: (holders) => (told = holders) }).then((l) => (order.push('job'), l));
  const second = locks.acquire(['/dev/ttyUSB0'], flash).then((l) => (order.push('flash again'), l));
  await settle();
  t.deepEqual(told, [flash]);
  t.deepEqual(order, []);
  t.deepEqual(locks.holdings(), [{ path: '/dev/ttyUSB0', holder: flash, waiting: [job, flash] }]);
  flashLease.release();
  (await jobLease).release();
  (await second).release();
  t.deepEqual(order, ['job', 'flash again']);
  t.deepEqual(locks.holdings(), []);
});

test('other ports are not blocked; an aborted wait leaves the queue and throws a typed error', async (t) => {
  const locks = new PortLocks(canonical);
  const held = await locks.acquire(['/dev/ttyUSB0'], flash);
  const other = await locks.acquire(['/dev/ttyUSB1'], job);
  t.deepEqual(other.paths, ['/dev/ttyUSB1']);
  const abort = new AbortController();
  const waiting = locks.acquire(['/dev/ttyUSB0'], job, { signal: abort.signal });
  await settle();
  abort.abort();
  const error = await t.throwsAsync(waiting, { instanceOf: PortLockAbortedError });
  t.is(error?.code, 'port-lock-aborted');
  held.release();
  held.release(); // idempotent
  const again = await locks.acquire(['/dev/ttyUSB0'], job);
  t.deepEqual(again.paths, ['/dev/ttyUSB0']);
});

const template = (extra: Partial<Template>): Template =>
  ({ runtime: 'process', command: ['true'], args: [], env: {}, ports: [], resources: {}, volumes: [], serialDevices: [], peripherals: [], probes: {}, restartPolicy: 'Never', terminationGracePeriodSeconds: 1, ...extra }) as Template;

test('claimedPorts: serialDevices by host path and the gateway ports of claimed MCUs', (t) => {
  const mcuPorts = (model: string | undefined): string[] => (model === 'stm32f103' || model === undefined ? ['/dev/ttyACM0'] : []);
  t.deepEqual(claimedPorts(template({ serialDevices: ['/dev/ttyUSB0:/dev/ttyGPS'], peripherals: [{ kind: 'mcu', mcu: 'stm32f103', exclusive: true }] }), mcuPorts), ['/dev/ttyUSB0', '/dev/ttyACM0']);
  t.deepEqual(claimedPorts(template({ peripherals: [{ kind: 'mcu', mcu: 'stc89c52', exclusive: true }] }), mcuPorts), []);
});

function fakeAttempt(log: string[], now: () => number): (request: AttemptRequest) => Promise<AttemptResult> {
  return async (request) => {
    log.push(`start ${request.id}`);
    return { startedAt: now(), finishedAt: now(), exitCode: 0, output: [], ended: 'exited' };
  };
}

test('an attempt claiming a port held by a flash starts after it, with an event naming the flash; the MCU port is handed over and back', async (t) => {
  const locks = new PortLocks(canonical);
  const log: string[] = [];
  const events: Omit<DeviceEvent, 'time'>[] = [];
  let clock = 1000;
  const run = withPortLock(fakeAttempt(log, () => clock), {
    locks,
    mcuPorts: () => ['/dev/serial/by-id/usb-stm'],
    handOver: async (paths) => {
      log.push(`hand over ${paths.join(',')}`);
      return () => log.push('given back');
    },
    event: (e) => events.push(e),
    now: () => clock,
  });
  const flashLease = await locks.acquire(['/dev/ttyUSB0'], flash);
  const attempt = run({ id: 'j-1-0-1', owner: 'dump', ownerKind: 'Job', template: template({ peripherals: [{ kind: 'mcu', exclusive: true }] }), signal: new AbortController().signal });
  await settle();
  t.deepEqual(log, [], 'nothing starts while the flash holds the port');
  clock = 5000;
  log.push('flash done');
  flashLease.release();
  const result = await attempt;
  t.is(result.startedAt, 5000);
  t.deepEqual(log, ['flash done', 'hand over /dev/ttyUSB0', 'start j-1-0-1', 'given back']);
  t.deepEqual(events.map((e) => e.reason), ['WaitingForPort', 'PortAcquired']);
  t.regex(events[0]?.message ?? '', /waits for the flash of mcu stm32f103-1 to release/);
  t.deepEqual(events[0]?.object, { kind: 'Job', name: 'dump' });
  t.deepEqual(locks.holdings(), [], 'released after the attempt');
});

test('a deadline passing while waiting ends the attempt as deadline without starting it', async (t) => {
  const locks = new PortLocks(canonical);
  const log: string[] = [];
  const run = withPortLock(fakeAttempt(log, Date.now), { locks, mcuPorts: () => [], event: () => undefined, now: Date.now });
  const held = await locks.acquire(['/dev/ttyUSB0'], flash);
  const result = await run({ id: 'c-x-1-0-1', owner: 'x', ownerKind: 'CronJob', template: template({ serialDevices: ['/dev/ttyUSB0'] }), deadlineAt: Date.now() + 20, signal: new AbortController().signal });
  t.is(result.ended, 'deadline');
  t.regex(result.message ?? '', /never started: \/dev\/ttyUSB0 still held by the flash of mcu/);
  t.deepEqual(log, []);
  held.release();
  t.deepEqual(locks.holdings(), []);
});
