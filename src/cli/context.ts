import type { Command } from 'commander';
import { resolveConfig, type GlobalFlags } from './config.js';
import { HubClient } from './hub-client.js';

/** The hub client for a command, from global flags, environment and config file. */
export async function hubClientFor(command: Command): Promise<HubClient> {
  const flags = command.optsWithGlobals<GlobalFlags>();
  return new HubClient(await resolveConfig(flags));
}

/** Writes to stdout; one place so commands never mix console.log and process.stdout. */
export function print(text: string): void {
  if (text !== '') process.stdout.write(`${text}\n`);
}
