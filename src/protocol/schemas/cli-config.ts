import * as z from 'zod';

/**
 * `~/.config/edgepilot/config.yaml`, like a kubeconfig: where the hub is and the admin token.
 * The hub writes one on first start (if none exists); the CLI reads it.
 */
export const cliConfigSchema = z.strictObject({
  apiVersion: z.literal('edgepilot.io/v1').default('edgepilot.io/v1'),
  kind: z.literal('Config').default('Config'),
  hub: z.url({ protocol: /^https?$/ }).optional(),
  token: z.string().min(16).optional(),
  /**
   * The hub's CA certificate (PEM), like a kubeconfig's certificate-authority-data: an https
   * hub is verified against it and nothing else. Written by the hub on first start, or by
   * `edgepilot login --ca-fingerprint` after checking the fingerprint.
   */
  ca: z.string().regex(/-----BEGIN CERTIFICATE-----/, 'ca must be a PEM certificate').optional(),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;
