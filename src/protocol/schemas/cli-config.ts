import { z } from 'zod';

/**
 * `~/.config/edgepilot/config.yaml`, like a kubeconfig: where the hub is and the admin token.
 * The hub writes one on first start (if none exists); the CLI reads it.
 */
export const cliConfigSchema = z.strictObject({
  apiVersion: z.literal('edgepilot.io/v1').default('edgepilot.io/v1'),
  kind: z.literal('Config').default('Config'),
  hub: z.url({ protocol: /^https?$/ }).optional(),
  token: z.string().min(16).optional(),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;
