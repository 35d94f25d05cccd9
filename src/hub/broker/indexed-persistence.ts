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

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    await super.storeRetained(packet);
    if (packet.payload.length === 0) this.#byTopic.delete(packet.topic);
    else this.#byTopic.set(packet.topic, { ...packet });
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    if (patterns.some(hasWildcard)) return super.createRetainedStreamCombi(patterns);
    return Readable.from(patterns.flatMap((p) => this.#byTopic.get(p) ?? []));
  }

  override createRetainedStream(pattern: string): Readable {
    if (hasWildcard(pattern)) return super.createRetainedStream(pattern);
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
}

/** The in-memory persistence for the embedded broker, with exact-topic retained lookups. */
export function indexedMemoryPersistence(): IndexedPersistence {
  return new CallBackPersistence((opts) => new ExactTopicRetainedPersistence(opts), {}) as unknown as IndexedPersistence;
}
