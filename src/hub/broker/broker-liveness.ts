// What a hub's broker knows of the other brokers sharing Redis (issue 15): which are alive, by
// their heartbeats. Silence means a broker is gone only while this broker could hear: during a
// Redis outage no heartbeat reaches anyone, and afterwards every broker looked dead for a moment.
// aedes then published the wills of the devices connected to the other hubs (live devices marked
// offline, and their wills deleted, so a real loss later said nothing), and each hub took the
// others' devices' reports as its own. Here silence counts only from when this broker last began
// to listen (its start, or its Redis subscriber's return).
import { parseTopic } from '../../protocol/index.js';

/** How often brokers sharing Redis say they are alive (aedes' default is a minute). */
export const BROKER_HEARTBEAT_MS = 5000;

/** What a broker knows of the others: when each last beat, and since when it listens itself. */
export interface BrokerLiveness {
  lastBeat: Readonly<Record<string, number>>;
  /** Since when this broker hears the others without a break; undefined while it does not (Redis down). */
  listeningSince: number | undefined;
  now: number;
  /** A broker silent this long (while we listened) is gone: three beats by default. */
  deadlineMs?: number;
}

/** Whether broker `id` is gone: silent for the deadline while we listened (never while we cannot hear). */
export function brokerGone(id: string, liveness: BrokerLiveness): boolean {
  const { listeningSince, now } = liveness;
  if (listeningSince === undefined) return false;
  const deadline = liveness.deadlineMs ?? 3 * BROKER_HEARTBEAT_MS;
  const heard = Math.max(liveness.lastBeat[id] ?? -Infinity, listeningSince);
  return now - heard > deadline;
}

/**
 * Whether the hub at broker `ownId` takes this message: one a device published at this broker;
 * a retained message replayed at SUBSCRIBE (no broker id); answers to RPCs from anywhere (only
 * the hub that asked waits for them); and a will published for a broker that is gone (its hub
 * is gone: someone must record its devices offline).
 */
export function reportIsOurs(packet: { topic: string; brokerId?: string | null }, ownId: string, liveness: BrokerLiveness): boolean {
  const from = packet.brokerId;
  if (from === undefined || from === null || from === ownId) return true;
  if (parseTopic(packet.topic)?.kind === 'rpc-response') return true;
  return brokerGone(from, liveness);
}

/** A stored will, as aedes' persistence streams it. */
interface StoredWill {
  brokerId: string;
  clientId: string;
}

interface WillPersistence {
  streamWill(brokers: Record<string, number>): AsyncIterable<StoredWill>;
}

/**
 * Makes aedes publish a stored will only when its broker is gone by `liveness` (its own
 * pruning of silent brokers counts the time Redis was down as silence). A will held back stays
 * stored: it is published later if its broker really is gone, or removed when its device
 * disconnects from its live broker. Patches the persistence instance (its methods use private
 * fields, so a wrapper object could not call them).
 */
export function holdWillsOfLiveBrokers(persistence: object, liveness: () => BrokerLiveness): void {
  const p = persistence as WillPersistence;
  const stream = p.streamWill.bind(persistence);
  p.streamWill = (brokers) => {
    const wills = stream(brokers);
    return (async function* dueOnly(): AsyncGenerator<StoredWill> {
      // Our own broker's too: its beats come back through Redis like the others', and after an
      // outage aedes had forgotten them as well (the wills of our own live devices).
      for await (const will of wills) if (brokerGone(will.brokerId, liveness())) yield will;
    })();
  };
}
