import test from 'ava';
import mqtt from 'mqtt';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { generateDeviceKey } from '../../src/device-agent/identity/device-key.js';
import { enroll } from '../../src/device-agent/identity/enroll.js';
import { defaultDeviceMessageLimits } from '../../src/hub/limits/device-message-throttle.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { prng } from '../support/prng.js';

/**
 * Issue 13: a plant powering up at once meets the hub's join limit. The refused agents wait what
 * the hub's Retry-After says, plus jitter, and all join in the end, spread out instead of in a storm.
 */
test('agents refused with 429 honour Retry-After, add jitter, and all join', async (t) => {
  const dir = await makeTempDir('ep-join-backoff-');
  const hubLog = captureLog();
  // Two joins at once from one address, then two a second: eight boards cannot all get in at once.
  const hub = await startTestHub(dir.path, hubLog.logger, undefined, {
    limits: { deviceMessages: defaultDeviceMessageLimits, join: { perSource: { perSecond: 2, capacity: 2 }, global: { perSecond: 100, capacity: 100 } } },
  });
  t.teardown(async () => {
    await hub.close();
    await dir.remove();
  });
  const token = await hub.tokens.create({ ttlSeconds: 600, labels: {}, maxUses: 20, description: 'plant' });
  const abort = new AbortController();
  t.teardown(() => abort.abort(new Error('test over')));

  const started = Date.now();
  const agents = Array.from({ length: 8 }, async (_, i) => {
    const stateDir = join(dir.path, `agent-${i}`);
    await mkdir(stateDir);
    const lines: { at: number; line: string }[] = [];
    const attempts: number[] = [];
    const identity = await enroll({
      stateDir,
      hubUrl: hub.apiUrl,
      joinToken: token.token,
      hardwareId: `plant-board-${String(i).padStart(4, '0')}`,
      key: generateDeviceKey().key,
      agentVersion: 'test',
      facts: async () => gatewayFacts({ hostname: `board-${i}` }),
      connect: mqtt.connect,
      log: createLogger(`agent-${i}`, 'info', (line) => lines.push({ at: Date.now(), line })),
      signal: abort.signal,
      // Called before every attempt: when each agent knocked.
      trustHub: async () => (attempts.push(Date.now()), undefined),
      retry: { initialMs: 200, maxMs: 1000 },
      random: prng(1000 + i),
    });
    return { i, identity, lines, attempts, joinedAfterMs: Date.now() - started };
  });
  const joined = await Promise.all(agents);

  t.is(new Set(joined.map((a) => a.identity.deviceId)).size, 8, 'every board joined, each under its own id');
  const refusals = joined.flatMap((a) => a.lines.filter((l) => /busy \(429, Retry-After (\d+)\)/.test(l.line)).map((l) => ({ agent: a, ...l })));
  t.true(refusals.length >= 2, `the limit refused some of the storm (${refusals.length} refusals)`);
  // Honoured: no refused agent knocked again before the hub's Retry-After had passed.
  for (const { agent, at, line } of refusals) {
    const seconds = Number(/Retry-After (\d+)/.exec(line)?.[1]);
    const next = agent.attempts.find((a) => a >= at);
    t.truthy(next, `agent ${agent.i} tried again after "${line}"`);
    t.true((next ?? 0) - at >= seconds * 1000 - 5, `agent ${agent.i} waited ${(next ?? 0) - at} ms after a Retry-After of ${seconds} s`);
  }
  // Shown, not asserted (wall-clock): when each board got in.
  t.log(
    'joined after (ms): ' +
      joined
        .map((a) => a.joinedAfterMs)
        .sort((a, b) => a - b)
        .join(', '),
  );
  t.log(`attempts per agent: ${joined.map((a) => a.attempts.length).join(', ')}`);
});
