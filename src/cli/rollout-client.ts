// What the rollout commands share: reading a rollout and sending it an operator command.
import type { Command } from 'commander';
import { z } from 'zod';
import { eventSchema, rolloutViewSchema, type RolloutCommand, type RolloutView } from '../protocol/index.js';
import { hubClientFor, print } from './context.js';

export const rolloutDetailSchema = rolloutViewSchema.extend({ events: z.array(eventSchema).default([]) });

export async function fetchRollout(command: Command, name: string): Promise<z.output<typeof rolloutDetailSchema>> {
  const client = await hubClientFor(command);
  return client.request('GET', `/v1/rollouts/${encodeURIComponent(name)}`, rolloutDetailSchema);
}

/** Sends `pause|resume|promote|abort|undo` and prints the rollout's phase after it. */
export async function sendRolloutCommand(command: Command, name: string, body: RolloutCommand): Promise<RolloutView> {
  const client = await hubClientFor(command);
  const view = await client.request('POST', `/v1/rollouts/${encodeURIComponent(name)}/commands`, rolloutViewSchema, body);
  print(`rollout/${view.name} ${body.type}: ${view.phase}${view.pause ? ` (${view.pause.reason})` : ''}`);
  return view;
}
