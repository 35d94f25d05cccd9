// The embedded broker's retained-message lookups (src/hub/broker/indexed-persistence.ts) answer a
// SUBSCRIBE exactly as aedes' own memory persistence does, through indexes (exact topic, last
// level) instead of testing every filter against every retained message.
import test from 'ava';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { filterMatches, indexedMemoryPersistence } from '../../../src/hub/broker/indexed-persistence.js';

const require = createRequire(import.meta.url);
type Reference = { storeRetained(p: object): Promise<void>; createRetainedStreamCombi(patterns: string[]): Readable };
const AsyncPersistence = require('aedes-persistence/asyncPersistence.js') as new (opts: object) => Reference;

async function topicsOf(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of stream) out.push((packet as { topic: string }).topic);
  return out.sort();
}

const level = fc.constantFrom('ep', 'v1', 'd', 'dev-1', 'dev-2', 'status', 'desired', 'rpc', 'res', '$SYS', 'x');
const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
const filter = fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }).chain((levels) => fc.boolean().map((hash) => (hash ? [...levels, '#'] : levels).join('/')));

test('retained messages found for any filters are exactly those aedes\' own persistence finds', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(topic, fc.boolean()), { maxLength: 30 }), fc.array(filter, { minLength: 1, maxLength: 3 }), async (stored, filters) => {
      const ours = indexedMemoryPersistence();
      const reference = new AsyncPersistence({});
      for (const [name, cleared] of stored) {
        const packet = { cmd: 'publish' as const, topic: name, payload: Buffer.from(cleared ? '' : 'x'), qos: 1 as const, retain: true as const };
        await ours.storeRetained(packet);
        await reference.storeRetained(packet);
      }
      t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(filters)), await topicsOf(reference.createRetainedStreamCombi(filters)), `filters ${filters.join(' ')}`);
    }),
    { numRuns: 300 },
  );
});

test('filterMatches: + is one level, and a leading wildcard never matches a $ topic', (t) => {
  t.true(filterMatches('ep/v1/d/+/status', 'ep/v1/d/dev-1/status'));
  t.false(filterMatches('ep/v1/d/+/status', 'ep/v1/d/dev-1/desired'));
  t.false(filterMatches('ep/v1/d/+/status', 'ep/v1/d/a/b/status'));
  t.false(filterMatches('+/status', '$SYS/status'));
  t.true(filterMatches('$SYS/+', '$SYS/status'));
});
