// The embedded broker's retained-message lookups (src/hub/broker/indexed-persistence.ts) answer a
// SUBSCRIBE as aedes' own memory persistence does, through indexes (exact topic, last level)
// instead of testing every filter against every retained message — except where aedes' persistence
// departs from MQTT 3.1.1: it matches a leading wildcard against `$` topics (§4.7.2 forbids it).
// So the reference here is aedes' answer narrowed by the spec's rule, written out independently.
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

/** MQTT 3.1.1 §4.7 as a regular expression per filter (independent of the code under test). */
function specMatches(filter: string, topic: string): boolean {
  if (/^[+#]/.test(filter) && topic.startsWith('$')) return false;
  const levels = filter.split('/');
  const multi = levels.at(-1) === '#';
  const fixed = (multi ? levels.slice(0, -1) : levels).map((level) => (level === '+' ? '[^/]*' : level.replace(/[$.]/g, '\\$&')));
  // `a/#` matches `a` and everything below it; `#` alone matches everything.
  const pattern = multi ? (fixed.length === 0 ? '.*' : `${fixed.join('/')}(/.*)?`) : fixed.join('/');
  return new RegExp(`^${pattern}$`).test(topic);
}

/** aedes' answer, each topic once, narrowed by §4.7.2. */
async function referenceTopics(reference: Reference, filters: string[]): Promise<string[]> {
  const found = await topicsOf(reference.createRetainedStreamCombi(filters));
  return [...new Set(found)].filter((topic) => filters.some((f) => specMatches(f, topic))).sort();
}

const level = fc.constantFrom('ep', 'v1', 'd', 'dev-1', 'dev-2', 'status', 'desired', 'rpc', 'res', '$SYS', 'x');
const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
const filter = fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }).chain((levels) => fc.boolean().map((hash) => (hash ? [...levels, '#'] : levels).join('/')));

test('retained messages found for any filters are those aedes\' own persistence finds, by the spec, each once', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(topic, fc.boolean()), { maxLength: 30 }), fc.array(filter, { minLength: 1, maxLength: 3 }), async (stored, filters) => {
      const ours = indexedMemoryPersistence();
      const reference = new AsyncPersistence({});
      for (const [name, cleared] of stored) {
        const packet = { cmd: 'publish' as const, topic: name, payload: Buffer.from(cleared ? '' : 'x'), qos: 1 as const, retain: true as const };
        await ours.storeRetained(packet);
        await reference.storeRetained(packet);
      }
      t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(filters)), await referenceTopics(reference, filters), `filters ${filters.join(' ')}`);
    }),
    { numRuns: 1000 },
  );
});

test('filterMatches: + is one level, and a leading wildcard never matches a $ topic', (t) => {
  t.true(filterMatches('ep/v1/d/+/status', 'ep/v1/d/dev-1/status'));
  t.false(filterMatches('ep/v1/d/+/status', 'ep/v1/d/dev-1/desired'));
  t.false(filterMatches('ep/v1/d/+/status', 'ep/v1/d/a/b/status'));
  t.false(filterMatches('+/status', '$SYS/status'));
  t.true(filterMatches('$SYS/+', '$SYS/status'));
  t.false(filterMatches('#', '$SYS/x'));
  t.false(filterMatches('+/#', '$SYS/x'));
  t.true(filterMatches('ep/#', 'ep'));
  t.true(filterMatches('ep/#', 'ep/v1/d'));
  t.false(filterMatches('ep/+', 'ep'));
});

test('a leading wildcard never returns a retained $ topic, whichever index answers', async (t) => {
  const ours = indexedMemoryPersistence();
  for (const name of ['$SYS/x', '$SYS/status', 'ep/status', 'x']) await ours.storeRetained({ cmd: 'publish', topic: name, payload: Buffer.from('x'), qos: 1, retain: true });
  t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(['+/#'])), ['ep/status', 'x'], '# matches the parent level too (§4.7.1.2)');
  t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(['#'])), ['ep/status', 'x']);
  t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(['+/status'])), ['ep/status']);
  t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(['+/status', '$SYS/+'])), ['$SYS/status', '$SYS/x', 'ep/status']);
  t.deepEqual(await topicsOf(ours.createRetainedStreamCombi(['ep/status', 'ep/status'])), ['ep/status'], 'once, though asked twice');
});
