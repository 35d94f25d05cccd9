// One board joining two hubs on one PostgreSQL at the same moment (an agent's retry reaching
// another hub while its first request is still on its way): one device record, both answers name
// it, and the join token counts one use. Two stores in one process, each with its own
// registration (tokens, nonces), as two hub processes would have.
import test from 'ava';
import { createLogger } from '../../src/common/log.js';
import { secretMatches } from '../../src/common/ids.js';
import { generateDeviceKey, type DeviceKey } from '../../src/device-agent/identity/device-key.js';
import { signedJoinRequest } from '../../src/device-agent/identity/join.js';
import { DeviceFeed } from '../../src/hub/fleet/device-feed.js';
import { JoinNonces } from '../../src/hub/fleet/join-nonces.js';
import { registerDevice, type RegistrationDeps } from '../../src/hub/fleet/registration.js';
import { JoinTokens } from '../../src/hub/fleet/tokens.js';
import { openPostgresStore, type PostgresHubStore } from '../../src/hub/store/postgres/postgres-store.js';
import type { DeviceRepository } from '../../src/hub/store/repository.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { freshDatabase } from '../support/postgres.js';

const ROUNDS = 12;
const quiet = (): undefined => undefined;

/**
 * Holds each hub's first look-up of a board until both hubs have looked: both find no record and
 * both register, so every round is the race (left to timing, most rounds would not be).
 */
function lookTogether(a: DeviceRepository, b: DeviceRepository): [DeviceRepository, DeviceRepository] {
  const looks = new Map<string, { count: number; both: Promise<void>; release: () => void }>();
  const wrap = (repo: DeviceRepository): DeviceRepository => {
    const held = new Set<string>();
    return Object.assign(Object.create(repo) as DeviceRepository, {
      findByHardwareId: async (hardwareId: string) => {
        const found = await repo.findByHardwareId(hardwareId);
        if (held.has(hardwareId)) return found;
        held.add(hardwareId);
        let look = looks.get(hardwareId);
        if (!look) {
          let release = (): void => undefined;
          const both = new Promise<void>((resolve) => (release = resolve));
          look = { count: 0, both, release };
          looks.set(hardwareId, look);
        }
        look.count += 1;
        if (look.count === 2) look.release();
        await look.both;
        return found;
      },
    });
  };
  return [wrap(a), wrap(b)];
}

function hub(store: PostgresHubStore, devices: DeviceRepository, logs: string[]): RegistrationDeps {
  const now = (): Date => new Date();
  return {
    tokens: new JoinTokens(store.tokens, now),
    devices,
    events: store.events,
    feed: new DeviceFeed(),
    nonces: new JoinNonces(Date.now() - 1000),
    now,
    log: createLogger('join', 'info', (line) => logs.push(line)),
  };
}

let nonces = 0;
function joinRequest(token: string, key: DeviceKey, hardwareId: string): { nonce: string; body: ReturnType<typeof signedJoinRequest> } {
  nonces += 1;
  const nonce = `nonce${String(nonces).padStart(12, '0')}`;
  return { nonce, body: signedJoinRequest(nonce, { token, hardwareId, hostname: 'press-7', agentVersion: 'test', facts: gatewayFacts({ hostname: 'press-7' }), key, now: () => Date.now() }) };
}

test('the same board joining two hubs at once: one device record, both answers name it, one token use per board', async (t) => {
  const url = await freshDatabase(t);
  const a = await openPostgresStore(url, { log: quiet });
  const b = await openPostgresStore(url, { log: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const logs: string[] = [];
  const [devicesA, devicesB] = lookTogether(a.devices, b.devices);
  const hubA = hub(a, devicesA, logs);
  const hubB = hub(b, devicesB, logs);
  // One use to spare: a limited token's use is taken under the row's lock when the join starts
  // (join-token-limit-postgres.test.ts), so both joins of a round hold one until the second meets
  // the first's record and gives its use back. On a token with none left for it, the second join
  // is refused unless the first has registered the board by then (then it is the board's re-join).
  const created = await hubA.tokens.create({ ttlSeconds: 3600, labels: { site: 'plant-3' }, description: 'storm', maxUses: ROUNDS + 1 });

  for (let round = 0; round < ROUNDS; round++) {
    const hardwareId = `hw-board-${round}`;
    const { key } = generateDeviceKey();
    const toA = joinRequest(created.token, key, hardwareId);
    const toB = joinRequest(created.token, key, hardwareId);
    const [one, two] = await Promise.all([registerDevice(toA.nonce, toA.body, hubA), registerDevice(toB.nonce, toB.body, hubB)]);
    if (!one.ok || !two.ok) return t.fail(`round ${round}: refused: ${JSON.stringify([one, two])}`);
    t.is(one.deviceId, two.deviceId, `round ${round}: both answers name the same device`);
    t.is([one.reregistered, two.reregistered].filter(Boolean).length, 1, `round ${round}: one registered, the other re-joined`);
    const records = (await a.devices.list()).filter((d) => d.hardwareId === hardwareId);
    t.is(records.length, 1, `round ${round}: one record of the board`);
    // The later answer's credentials are the stored ones (the re-join rotated them), as on one hub.
    const later = one.reregistered ? one : two;
    t.true(secretMatches(later.password, records[0]?.credentialHash ?? ''));
  }
  t.is((await a.devices.list()).length, ROUNDS);
  // Closed, both hubs' lazy writes are stored; a third hub reads what the database holds.
  await Promise.all([a.close(), b.close()]);
  const c = await openPostgresStore(url, { log: quiet });
  t.teardown(() => c.close());
  t.is((await c.tokens.get(created.id))?.uses, ROUNDS, 'one use per board: the use of a join that met the other hub\'s record was given back');
  t.is(logs.filter((l) => l.includes('registered by another hub')).length, ROUNDS, 'every round met the other hub\'s record');
});
