import * as z from 'zod';
import { hubIdSchema } from './hubs.js';

const pathSchema = z.string().min(1).max(4096);
/** Values the hub's flags parse (addresses, rates, URLs) stay strings here: one parser, one message. */
const flagValue = z.string().min(1).max(2048);

/**
 * `edgepilot hub --settings <file>`: the hub's flags as a file, grouped as an operator thinks of them
 * (a hub among several names its store, its Redis and itself under `cluster`). A flag given on the
 * command line replaces the file's value. Strict: a misspelt key is an error, never ignored.
 */
export const hubSettingsFileSchema = z.strictObject({
  apiVersion: z.literal('edgepilot.io/v1'),
  kind: z.literal('HubSettings'),
  dataDir: pathSchema.optional(),
  listen: flagValue.optional(),
  mqttListen: flagValue.optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  insecure: z.boolean().optional(),
  secretKeyFile: pathSchema.optional(),
  firmwareKeys: z.array(pathSchema).max(64).optional(),
  autoscaleIntervalSeconds: z.number().positive().max(86_400).optional(),
  writeCliConfig: z.boolean().optional(),
  limits: z
    .strictObject({
      joinRate: flagValue.optional(),
      authFailureRate: flagValue.optional(),
      deviceMessageRate: flagValue.optional(),
    })
    .optional(),
  broker: z
    .strictObject({
      url: flagValue,
      dynsec: z.boolean().optional(),
      advertise: flagValue.optional(),
    })
    .optional(),
  tls: z
    .strictObject({
      cert: pathSchema.optional(),
      key: pathSchema.optional(),
      ca: pathSchema.optional(),
      san: z.array(z.string().min(1).max(253)).max(64).optional(),
    })
    .optional(),
  cluster: z
    .strictObject({
      hubId: hubIdSchema.optional(),
      store: flagValue.optional(),
      redis: flagValue.optional(),
      advertiseApi: flagValue.optional(),
    })
    .optional(),
});
export type HubSettingsFile = z.infer<typeof hubSettingsFileSchema>;
