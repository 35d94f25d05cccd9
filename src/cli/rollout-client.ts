// What the rollout commands share: reading a rollout and sending it an operator command.
import type { Command } from 'commander';
import * as z from 'zod';
import { eventSchema, rolloutViewSchema, type RolloutCommand, type RolloutView } from '../protocol/index.js';
import { hubClientFor, print } from './context.js';
import { CliError } from './errors.js';
import { parseOutputFormat, renderObject } from './output/format.js';

export const rolloutDetailSchema = rolloutViewSchema.extend({ events: z.array(eventSchema).default([]) });

export async function fetchRollout(command: Command, name: string): Promise<z.output<typeof rolloutDetailSchema>> {
  const client = await hubClientFor(command);
  return client.request('GET', `/v1/rollouts/${encodeURIComponent(name)}`, rolloutDetailSchema);
}

/** `-o json|yaml` of a command that changes something: the object as it is afterwards. */
export function objectOutput(value: string | undefined): 'json' | 'yaml' | undefined {
  const format = parseOutputFormat(value);
  if (format === 'table') return undefined;
  if (format !== 'json' && format !== 'yaml') throw new CliError(`-o ${format}: this command prints json or yaml`);
  return format;
}

/** Sends `pause|resume|promote|abort|undo` and prints the rollout's phase after it (or the rollout, with -o). */
export async function sendRolloutCommand(command: Command, name: string, body: RolloutCommand, output?: string): Promise<RolloutView> {
  const format = objectOutput(output);
  const client = await hubClientFor(command);
  const view = await client.request('POST', `/v1/rollouts/${encodeURIComponent(name)}/commands`, rolloutViewSchema, body);
  if (format !== undefined) print(renderObject(view, format));
  else print(`rollout/${view.name} ${body.type}: ${view.phase}${view.pause ? ` (${view.pause.reason})` : ''}`);
  return view;
}
