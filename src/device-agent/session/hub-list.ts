// The hubs an agent may use (issue 15): /v1/bootstrap lists the live ones, the agent keeps that
// list durably in its state folder, and its MQTT session moves along it when its hub is gone.
// An agent restarted while its first hub is down starts from the stored list; the list is asked
// for again in the background (from any hub it knows), never blocking the start.
import { join } from 'node:path';
import * as z from 'zod';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import type { Logger } from '../../common/log.js';
import { hubEndpointSchema, type Bootstrap, type HubEndpoint } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

const hubListSchema = z.object({ hubs: z.array(hubEndpointSchema).max(64), savedAt: z.string() });

export function hubListPath(stateDir: string): string {
  return join(stateDir, 'hubs.json');
}

/** The stored list; empty when none was stored, or when it is damaged (it is only a hint). */
export async function loadHubList(stateDir: string, log?: Logger): Promise<HubEndpoint[]> {
  const text = await readFileIfExists(hubListPath(stateDir));
  if (text === undefined) return [];
  try {
    return hubListSchema.parse(JSON.parse(text)).hubs;
  } catch (err) {
    log?.warn(`${hubListPath(stateDir)} is damaged and ignored (${errorMessage(err).split('\n')[0] ?? ''}); the next answer from a hub replaces it`);
    return [];
  }
}

export async function saveHubList(stateDir: string, hubs: readonly HubEndpoint[]): Promise<void> {
  await writeFileDurably(hubListPath(stateDir), `${JSON.stringify({ hubs, savedAt: new Date().toISOString() }, null, 2)}\n`);
}

/** The brokers of the listed hubs other than `own`, in the list's order. */
export function otherBrokers(hubs: readonly HubEndpoint[], own: string): string[] {
  return [...new Set(hubs.map((h) => h.brokerUrl))].filter((url) => url !== own);
}

export interface RefreshHubListOptions {
  stateDir: string;
  /** The hub the agent joined through first, then every stored hub's API. */
  hubUrls: readonly string[];
  fetchBootstrap: (hubUrl: string) => Promise<Bootstrap>;
  log: Logger;
}

/**
 * Asks the known hubs in turn for the current list and stores the first answer that has one.
 * Resolves to the list stored now (the old one when no hub answered or none lists hubs).
 */
export async function refreshHubList(options: RefreshHubListOptions): Promise<HubEndpoint[]> {
  const stored = await loadHubList(options.stateDir, options.log);
  const candidates = [...new Set([...options.hubUrls, ...stored.map((h) => h.apiUrl)])];
  for (const hubUrl of candidates) {
    try {
      const answer = await options.fetchBootstrap(hubUrl);
      if (!answer.hubs || answer.hubs.length === 0) return stored;
      await saveHubList(options.stateDir, answer.hubs);
      return answer.hubs;
    } catch (err) {
      options.log.debug(`hub list from ${hubUrl}: ${errorMessage(err)}`);
    }
  }
  if (candidates.length > 0) options.log.warn(`no hub answered for the hub list (${candidates.join(', ')}); using the stored one (${stored.length} hub(s))`);
  return stored;
}

/**
 * For the agent's start: the other brokers from the stored list now, and `refresh` to ask the
 * known hubs for a fresh list in the background (handed to `update` when a hub answered).
 */
export async function followHubList(options: RefreshHubListOptions & { ownBroker: string }): Promise<{ others: string[]; refresh(update: (others: string[]) => void): void }> {
  const stored = await loadHubList(options.stateDir, options.log);
  return {
    others: otherBrokers(stored, options.ownBroker),
    refresh: (update) =>
      void refreshHubList(options).then(
        (hubs) => update(otherBrokers(hubs, options.ownBroker)),
        (err: unknown) => options.log.warn(`hub list: ${errorMessage(err)}`),
      ),
  };
}
