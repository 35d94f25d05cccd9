import { z } from 'zod';
import { byteQuantitySchema, cpuQuantitySchema } from './quantity.js';

/** What runs: the part of a workload that an agent needs. Shared by the manifest and the desired document. */

const envNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'invalid environment variable name');
export const envSchema = z.record(envNameSchema, z.string().max(32 * 1024));

export const probeSchema = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    http: z.strictObject({ path: z.string().startsWith('/').default('/'), port: z.number().int().min(1).max(65535) }).optional(),
    tcp: z.strictObject({ port: z.number().int().min(1).max(65535) }).optional(),
    initialDelaySeconds: z.number().nonnegative().default(0),
    periodSeconds: z.number().positive().default(10),
    timeoutSeconds: z.number().positive().default(1),
    failureThreshold: z.number().int().min(1).default(3),
    successThreshold: z.number().int().min(1).default(1),
  })
  .refine((p) => [p.exec, p.http, p.tcp].filter((x) => x !== undefined).length === 1, {
    message: 'a probe needs exactly one of exec, http, tcp',
  });
export type Probe = z.infer<typeof probeSchema>;

export const resourcesSchema = z.strictObject({
  requests: z.strictObject({ cpu: cpuQuantitySchema.optional(), memory: byteQuantitySchema.optional() }).default({}),
  limits: z.strictObject({ cpu: cpuQuantitySchema.optional(), memory: byteQuantitySchema.optional() }).default({}),
  /** Extended, countable device resources such as `rk3588.npu: 1`. */
  devices: z.record(z.string().max(64), z.number().int().positive()).default({}),
});
export type Resources = z.infer<typeof resourcesSchema>;

export const portSchema = z.strictObject({
  name: z.string().max(15).optional(),
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
});
export type Port = z.infer<typeof portSchema>;

export const volumeMountSchema = z.strictObject({
  /** A named volume outlives restarts and updates of the workload. */
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
  mountPath: z.string().startsWith('/'),
  /** Bind this host path instead of a named volume. */
  hostPath: z.string().startsWith('/').optional(),
  readOnly: z.boolean().default(false),
});
export type VolumeMount = z.infer<typeof volumeMountSchema>;

export const peripheralSchema = z.strictObject({
  kind: z.enum(['serial', 'mcu']),
  /** MCU model that must be attached, e.g. `stm32f103`. */
  mcu: z.string().max(32).optional(),
  /** Exclusive (default): one workload instance per peripheral. */
  exclusive: z.boolean().default(true),
});
export type Peripheral = z.infer<typeof peripheralSchema>;

const common = {
  command: z.array(z.string()).max(64).optional(),
  args: z.array(z.string()).max(256).default([]),
  env: envSchema.default({}),
  ports: z.array(portSchema).max(32).default([]),
  resources: resourcesSchema.default({ requests: {}, limits: {}, devices: {} }),
  volumes: z.array(volumeMountSchema).max(32).default([]),
  serialDevices: z.array(z.string().startsWith('/dev/')).max(16).default([]),
  peripherals: z.array(peripheralSchema).max(8).default([]),
  probes: z.strictObject({ liveness: probeSchema.optional(), readiness: probeSchema.optional() }).default({}),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
  terminationGracePeriodSeconds: z.number().int().min(0).max(3600).default(10),
};

export const containerTemplateSchema = z.strictObject({
  runtime: z.literal('container'),
  image: z.string().min(1, 'image is required').max(256),
  ...common,
});

export const processTemplateSchema = z.strictObject({
  runtime: z.literal('process'),
  command: z.array(z.string()).min(1, 'a process needs a command').max(64),
  args: common.args,
  env: common.env,
  workingDir: z.string().startsWith('/').optional(),
  ports: common.ports,
  resources: common.resources,
  volumes: common.volumes,
  serialDevices: common.serialDevices,
  peripherals: common.peripherals,
  probes: common.probes,
  restartPolicy: common.restartPolicy,
  terminationGracePeriodSeconds: common.terminationGracePeriodSeconds,
});

export const templateSchema = z.discriminatedUnion('runtime', [containerTemplateSchema, processTemplateSchema]);
export type Template = z.infer<typeof templateSchema>;
export type ContainerTemplate = z.infer<typeof containerTemplateSchema>;
export type ProcessTemplate = z.infer<typeof processTemplateSchema>;
