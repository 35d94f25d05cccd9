import { join } from 'node:path';
import * as z from 'zod';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { deviceIdSchema } from '../../protocol/index.js';

/** What the agent keeps after joining: its identity and how to reach the fleet. */
export const identitySchema = z.strictObject({
  deviceId: deviceIdSchema,
  password: z.string().min(32),
  brokerUrl: z.string().min(1),
  hubUrl: z.string().optional(),
  hardwareId: z.string(),
  joinedAt: z.string(),
});
export type AgentIdentity = z.infer<typeof identitySchema>;

export function identityPath(stateDir: string): string {
  return join(stateDir, 'identity.json');
}

export async function loadIdentity(stateDir: string): Promise<AgentIdentity | undefined> {
  const path = identityPath(stateDir);
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; remove it to join the fleet again`);
  }
  const parsed = identitySchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.message ?? 'invalid'}); remove it to join again`);
  return parsed.data;
}

/** Durable and private (0600): the password is the device's only proof of identity. */
export async function saveIdentity(stateDir: string, identity: AgentIdentity): Promise<void> {
  await writeFileDurably(identityPath(stateDir), `${JSON.stringify(identity, null, 2)}\n`);
}
