import * as z from 'zod';
import { isoTimeSchema, labelKeySchema, labelsSchema, nameSchema, deviceIdSchema } from './common.js';
import { labelSelectorSchema } from './placement.js';
import { eventSchema } from './events.js';

/**
 * Services (issue 14): a name for the ready instances of some workloads, reached on every device
 * that uses it through the agent's local TCP proxy. The hub computes endpoints (ready instances,
 * with their device's address and published port) and sends each device only the services its
 * own instances declare in `template.services` (need to know), on `ep/v1/d/<id>/services`.
 */

/**
 * Where endpoints may be: `device` (instances on the using device only), `site` (devices that
 * share the value of the `siteLabel` label), `fleet` (anywhere). Within the allowed ones the
 * proxy prefers the same device, then the same site.
 */
export const serviceScopeSchema = z.enum(['device', 'site', 'fleet']);
export type ServiceScope = z.infer<typeof serviceScopeSchema>;

export const servicePortSchema = z.strictObject({
  name: z.string().regex(/^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$/, 'must be lowercase letters, digits and -, at most 15 characters').optional(),
  /** Where the agent's proxy listens on every device that uses the service (unique across services). */
  port: z.number().int().min(1).max(65535),
  /** The selected instances' containerPort; the endpoint is the port published for it (hostPort). */
  targetPort: z.number().int().min(1).max(65535),
  protocol: z.literal('TCP').default('TCP'),
});
export type ServicePort = z.infer<typeof servicePortSchema>;

export const serviceSpecSchema = z.strictObject({
  /** Over the labels of workloads (metadata.labels): their instances are the service's candidates. */
  selector: labelSelectorSchema,
  ports: z.array(servicePortSchema).min(1, 'a service needs at least one port').max(8),
  scope: serviceScopeSchema.default('fleet'),
  /** The device label whose value names a site (scope `site`, and "same site" preference). */
  siteLabel: labelKeySchema.default('site'),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** Checks across fields, kept outside the object so its shape stays extendable. */
export const checkedServiceSpecSchema = serviceSpecSchema.superRefine((spec, ctx) => {
  const seen = new Set<number>();
  spec.ports.forEach((p, i) => {
    if (seen.has(p.port)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'port'], message: `port ${p.port} is listed twice` });
    seen.add(p.port);
  });
  if (Object.keys(spec.selector.matchLabels).length === 0 && spec.selector.matchExpressions.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['selector'], message: 'an empty selector would select every workload; name at least one label' });
  }
});

/**
 * A gateway serves this one itself (its MCUs' telemetry as JSON lines, `--mcu-telemetry-port`):
 * a workload lists it in `template.services`; no Service object may take the name.
 */
export const MCU_TELEMETRY_SERVICE = 'mcu-telemetry';

export const serviceManifestSchema = z.strictObject({
  apiVersion: z.literal('edgepilot.io/v1'),
  kind: z.literal('Service'),
  metadata: z.strictObject({
    name: nameSchema.refine((name) => name !== MCU_TELEMETRY_SERVICE, { message: `${MCU_TELEMETRY_SERVICE} is the gateways' own MCU telemetry service; choose another name` }),
    labels: labelsSchema.default({}),
    annotations: z.record(z.string().max(253), z.string().max(4096)).default({}),
  }),
  spec: checkedServiceSpecSchema,
});
export type ServiceManifest = z.infer<typeof serviceManifestSchema>;

/** A Service as the hub stores it. */
export const serviceRecordSchema = z.strictObject({
  name: nameSchema,
  labels: labelsSchema,
  annotations: z.record(z.string().max(253), z.string().max(4096)),
  spec: serviceSpecSchema,
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
});
export type ServiceRecord = z.infer<typeof serviceRecordSchema>;

/**
 * One ready instance behind a service, as seen from the device the document is for. `locality`
 * is computed by the hub (it knows every device's labels): the proxy prefers `device`, then `site`.
 */
export const serviceEndpointSchema = z.strictObject({
  deviceId: deviceIdSchema,
  instance: z.string().max(128),
  /** The device's reachable address (its facts' `address`). */
  host: z.string().min(1).max(253),
  /** targetPort → the port published on `host` for it. */
  ports: z.array(z.strictObject({ targetPort: z.number().int().min(1).max(65535), port: z.number().int().min(1).max(65535) })).max(8),
  locality: z.enum(['device', 'site', 'other']),
});
export type ServiceEndpoint = z.infer<typeof serviceEndpointSchema>;

export const deviceServiceSchema = z.strictObject({
  name: nameSchema,
  ports: z.array(servicePortSchema).min(1).max(8),
  endpoints: z.array(serviceEndpointSchema).max(256),
});
export type DeviceService = z.infer<typeof deviceServiceSchema>;

/**
 * Retained on `ep/v1/d/<id>/services`: every service this device's instances use, with its
 * endpoints. Whole, like the desired document; the agent keeps the last one on disk and keeps
 * resolving from it while the hub is away. `version` grows within one hub run (a restarted hub
 * starts again), so the agent applies whatever arrives last.
 */
export const deviceServicesSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  issuedAt: isoTimeSchema,
  services: z.array(deviceServiceSchema).max(64),
});
export type DeviceServices = z.infer<typeof deviceServicesSchema>;

/** What a workload's instances see: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` (Kubernetes' spelling). */
export function serviceEnvPrefix(name: string): string {
  return `${name.toUpperCase().replace(/-/g, '_')}_SERVICE`;
}

/** `GET /v1/services` and `/v1/services/:name`. */
export const serviceViewSchema = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  spec: serviceSpecSchema,
  createdAt: z.string(),
  endpoints: z.array(z.object({ deviceId: z.string(), instance: z.string(), host: z.string(), ports: z.array(z.object({ targetPort: z.number(), port: z.number() })) })),
  /** Instances selected but not endpoints, and why (not ready, no published port, device without address). */
  notReady: z.array(z.object({ deviceId: z.string(), instance: z.string(), reason: z.string() })),
  /** Devices that were sent this service (their instances use it). */
  usedBy: z.array(z.string()),
  /** `describe` only: the service's history (endpoints that came and went). */
  events: z.array(eventSchema).optional(),
});
export type ServiceView = z.infer<typeof serviceViewSchema>;
