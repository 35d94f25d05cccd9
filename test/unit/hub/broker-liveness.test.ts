// Which brokers sharing Redis are gone (issue 15): silence counts only while this broker could
// hear. A Redis outage longer than three beats made every broker look dead when Redis returned,
// and aedes published the stored wills of live devices connected to the other hubs.
import test from 'ava';
import { BROKER_HEARTBEAT_MS, brokerGone, holdWillsOfLiveBrokers, type BrokerLiveness } from '../../../src/hub/broker/broker-liveness.js';

const now = 1_000_000;
const deadline = 3 * BROKER_HEARTBEAT_MS;

test('a broker is gone only after three beats of silence while we listened', (t) => {
  const listening = now - 10 * deadline;
  t.false(brokerGone('b', { lastBeat: { b: now - 1000 }, listeningSince: listening, now }), 'beat a second ago');
  t.true(brokerGone('b', { lastBeat: { b: now - deadline - 1 }, listeningSince: listening, now }), 'silent for three beats');
  t.true(brokerGone('b', { lastBeat: {}, listeningSince: listening, now }), 'never heard (aedes forgets silent brokers)');
  // Redis was down 30 s: the last beat heard is old, but we heard nothing from anyone meanwhile.
  t.false(brokerGone('b', { lastBeat: { b: now - 30_000 }, listeningSince: undefined, now }), 'while Redis is down nobody is gone');
  t.false(brokerGone('b', { lastBeat: { b: now - 30_000 }, listeningSince: now - 2000, now }), 'two seconds after Redis came back');
  t.false(brokerGone('b', { lastBeat: {}, listeningSince: now - 2000, now }));
  t.true(brokerGone('b', { lastBeat: { b: now - 30_000 }, listeningSince: now - deadline - 1, now }), 'still silent three beats after Redis came back');
  t.true(brokerGone('b', { lastBeat: {}, listeningSince: now - 1000, now, deadlineMs: 750 }), 'a shorter beat (tests)');
});

test("aedes' will sweep gets only the wills of brokers that are gone; the others stay stored", async (t) => {
  const stored = [
    { brokerId: 'hub-a', clientId: 'dev-a' },
    { brokerId: 'hub-b', clientId: 'dev-b' },
    { brokerId: 'hub-c', clientId: 'dev-c' },
  ];
  const asked: Record<string, number>[] = [];
  const persistence = {
    streamWill(brokers: Record<string, number>) {
      asked.push(brokers);
      // As aedes-persistence-redis does: the wills of brokers not in the map aedes passes.
      return (async function* wills() {
        for (const w of stored) if (brokers[w.brokerId] === undefined) yield w;
      })();
    },
  };
  let liveness: BrokerLiveness = { lastBeat: {}, listeningSince: now - 1000, now };
  holdWillsOfLiveBrokers(persistence, () => liveness);
  const sweep = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const w of persistence.streamWill({})) out.push(w.clientId);
    return out;
  };
  // Redis just came back: aedes forgot every broker (its map is empty), but none is gone.
  t.deepEqual(await sweep(), []);
  t.deepEqual(asked, [{}], "aedes' own map is passed on");
  // hub-a and hub-b beat again; hub-c stays silent past the deadline: only its device's will.
  liveness = { lastBeat: { 'hub-a': now + deadline, 'hub-b': now + deadline }, listeningSince: now - 1000, now: now + deadline + 500 };
  t.deepEqual(await sweep(), ['dev-c']);
});
