import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

// aedes-persistence ships CommonJS without types; these are the parts used here.
interface RetainedPacket {
  topic: string;
  payload: Buffer;
}
type AsyncPersistenceClass = new (opts: object) => {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
};
type CallBackPersistenceClass = new (factory: (opts: object) => object, opts: object) => object;

const require = createRequire(import.meta.url);
const AsyncPersistence = require('aedes-persistence/asyncPersistence.js') as AsyncPersistenceClass;
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as { CallBackPersistence: CallBackPersistenceClass };

const hasWildcard = (pattern: string): boolean => pattern.includes('+') || pattern.includes('#');
const lastLevel = (topic: string): string => topic.slice(topic.lastIndexOf('/') + 1);
/** Single-level wildcards only, and a last level that is not one. */
const hasLiteralLastLevel = (pattern: string): boolean => !pattern.includes('#') && lastLevel(pattern) !== '+';

/**
 * Whether a topic filter matches a topic (MQTT 3.1.1 §4.7): level by level, `+` matching any one
 * level and a final `#` the parent level and any below it (§4.7.1.2), except that a filter starting
 * with a wildcard never matches a topic starting with `$` (§4.7.2). aedes' own persistence does
 * not apply that exception to retained messages, so every answer here is passed through this.
 */
export function filterMatches(filter: string, topic: string): boolean {
  if ((filter.startsWith('+') || filter.startsWith('#')) && topic.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Each retained message once, however many of the filters match it, and only where one matches by the spec. */
async function* matchingOnce(packets: AsyncIterable<RetainedPacket> | Iterable<RetainedPacket>, patterns: readonly string[]): AsyncGenerator<RetainedPacket> {
  const seen = new Set<string>();
  for await (const packet of packets) {
    if (seen.has(packet.topic) || !patterns.some((pattern) => filterMatches(pattern, packet.topic))) continue;
    seen.add(packet.topic);
    yield packet;
  }
}

/**
 * aedes' memory persistence answers every SUBSCRIBE by testing the filter against every
 * retained message: each device subscribing to its own `desired` topic scanned all 2N retained
 * status/facts messages, O(N²) over a registration storm (profiled: the broker's top cost at
 * 1,000 devices). Device subscriptions never have wildcards, so retained messages are also kept
 * by exact topic and such subscriptions are answered with one lookup; wildcard filters (the
 * hub's) still take the full scan.
 */
class ExactTopicRetainedPersistence extends AsyncPersistence {
  readonly #byTopic = new Map<string, RetainedPacket>();
  /**
   * The same packets by their topic's last level (`status`, `desired`, …). The hub subscribes
   * with filters such as `ep/v1/d/+/status`; a restarted hub's broker already holds 10,000
   * retained desired documents, and testing each filter against all of them was a second of
   * its start-up. A filter whose last level is literal looks only at topics ending in it.
   */
  readonly #byLastLevel = new Map<string, Map<string, RetainedPacket>>();

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    await super.storeRetained(packet);
    const last = lastLevel(packet.topic);
    let bucket = this.#byLastLevel.get(last);
    if (packet.payload.length === 0) {
      this.#byTopic.delete(packet.topic);
      bucket?.delete(packet.topic);
      return;
    }
    const copy = { ...packet };
    this.#byTopic.set(packet.topic, copy);
    if (bucket === undefined) this.#byLastLevel.set(last, (bucket = new Map()));
    bucket.set(packet.topic, copy);
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    // The common case (a device subscribing to its own topics, one at a time): one lookup.
    if (patterns.length === 1 && !hasWildcard(patterns[0] ?? '#')) {
      const packet = this.#byTopic.get(patterns[0] ?? '');
      return Readable.from(packet ? [packet] : []);
    }
    if (!patterns.some(hasWildcard)) return Readable.from(matchingOnce(patterns.flatMap((p) => this.#byTopic.get(p) ?? []), patterns));
    if (!patterns.every(hasLiteralLastLevel)) return Readable.from(matchingOnce(super.createRetainedStreamCombi(patterns), patterns));
    const buckets = new Set(patterns.map(lastLevel));
    return Readable.from(matchingOnce([...buckets].flatMap((last) => [...(this.#byLastLevel.get(last)?.values() ?? [])]), patterns));
  }

  override createRetainedStream(pattern: string): Readable {
    if (hasWildcard(pattern)) return Readable.from(matchingOnce(super.createRetainedStream(pattern), [pattern]));
    const packet = this.#byTopic.get(pattern);
    return Readable.from(packet ? [packet] : []);
  }
}

/** What aedes keeps of a retained PUBLISH; it builds the packet it delivers from these fields. */
export interface StoredRetainedPacket extends RetainedPacket {
  cmd: 'publish';
  qos: 0 | 1;
  retain: true;
}

/** The persistence handed to aedes, plus the one call the hub makes on it directly. */
export interface IndexedPersistence {
  /** Without a callback, aedes' callback persistence answers with a promise. */
  storeRetained(packet: StoredRetainedPacket): Promise<void>;
  /** The retained messages a SUBSCRIBE with these filters receives. */
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/** The in-memory persistence for the embedded broker, with exact-topic retained lookups. */
export function indexedMemoryPersistence(): IndexedPersistence {
  return new CallBackPersistence((opts) => new ExactTopicRetainedPersistence(opts), {}) as unknown as IndexedPersistence;
}
