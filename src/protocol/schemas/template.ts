import * as z from 'zod';
import { cpuMillisSchema, cpuQuantitySchema, formatCpuMillis, formatMemoryBytes, memoryBytesSchema, memoryQuantitySchema } from './quantity.js';

/**
 * What runs: the part of a workload that an agent needs. Two schemas of the same shape: the
 * canonical one (stored, served, sent in desired documents; resources as `cpuMillis` and
 * `memoryBytes`, validated only) and the manifest one (resources as written, `cpu: 500m`),
 * which turns a manifest into the canonical form once, at the edge.
 */

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

/** `envFrom`: every key of a ConfigMap or Secret as a variable (keys that are not valid names are skipped, with an event). */
export const envFromSchema = z
  .strictObject({
    configMap: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid ConfigMap name').optional(),
    secret: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid Secret name').optional(),
    prefix: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'invalid prefix').max(64).optional(),
  })
  .refine((e) => (e.configMap === undefined) !== (e.secret === undefined), { message: 'envFrom needs exactly one of configMap, secret' });
export type EnvFrom = z.infer<typeof envFromSchema>;

/** `valueFrom`: one variable from one key, e.g. `DB_PASSWORD: { secret: db, key: password }`. */
export const valueFromSchema = z
  .strictObject({
    configMap: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid ConfigMap name').optional(),
    secret: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid Secret name').optional(),
    key: z.string().regex(/^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/, 'invalid key'),
  })
  .refine((e) => (e.configMap === undefined) !== (e.secret === undefined), { message: 'valueFrom needs exactly one of configMap, secret' });
export type ValueFrom = z.infer<typeof valueFromSchema>;

const devicesSchema = z.record(z.string().max(64), z.number().int().positive());

export const resourceListSchema = z.strictObject({ cpuMillis: cpuMillisSchema.optional(), memoryBytes: memoryBytesSchema.optional() });
export type ResourceList = z.infer<typeof resourceListSchema>;

export const resourcesSchema = z.strictObject({
  requests: resourceListSchema.default({}),
  limits: resourceListSchema.default({}),
  /** Extended, countable device resources such as `rk3588.npu: 1`. */
  devices: devicesSchema.default({}),
});
export type Resources = z.infer<typeof resourcesSchema>;

/** The smallest CPU limit a container runtime enforces: 1% of a CPU. */
export const MIN_CPU_LIMIT_MILLIS = 10;

const resourceListManifestSchema = z
  .strictObject({ cpu: cpuQuantitySchema.optional(), memory: memoryQuantitySchema.optional() })
  .transform(({ cpu, memory }): ResourceList => ({ ...(cpu !== undefined ? { cpuMillis: cpu } : {}), ...(memory !== undefined ? { memoryBytes: memory } : {}) }));

/** As written in a manifest: `requests: { cpu: 100m, memory: 32Mi }`. */
export const resourcesManifestSchema = z
  .strictObject({
    requests: resourceListManifestSchema.default({}),
    limits: resourceListManifestSchema.default({}),
    devices: devicesSchema.default({}),
  })
  .superRefine(({ requests, limits }, ctx) => {
    // Docker and cgroups read a limit of 0 as "no limit": refuse it rather than surprise.
    if (limits.cpuMillis === 0) ctx.addIssue({ code: 'custom', path: ['limits', 'cpu'], message: 'a limit of 0 would mean no limit; leave the field out instead' });
    // CFS cannot enforce less than 1 ms per 100 ms period; Docker refuses it.
    else if (limits.cpuMillis !== undefined && limits.cpuMillis < MIN_CPU_LIMIT_MILLIS) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'cpu'], message: `${formatCpuMillis(limits.cpuMillis)} is below the smallest CPU limit, ${MIN_CPU_LIMIT_MILLIS}m` });
    }
    if (limits.memoryBytes === 0) ctx.addIssue({ code: 'custom', path: ['limits', 'memory'], message: 'a limit of 0 would mean no limit; leave the field out instead' });
    if (requests.cpuMillis !== undefined && limits.cpuMillis !== undefined && requests.cpuMillis > limits.cpuMillis) {
      ctx.addIssue({ code: 'custom', path: ['requests', 'cpu'], message: `requests.cpu ${formatCpuMillis(requests.cpuMillis)} is more than limits.cpu ${formatCpuMillis(limits.cpuMillis)}` });
    }
    if (requests.memoryBytes !== undefined && limits.memoryBytes !== undefined && requests.memoryBytes > limits.memoryBytes) {
      ctx.addIssue({ code: 'custom', path: ['requests', 'memory'], message: `requests.memory ${formatMemoryBytes(requests.memoryBytes)} is more than limits.memory ${formatMemoryBytes(limits.memoryBytes)}` });
    }
  });

export const portSchema = z.strictObject({
  name: z.string().max(15).optional(),
  containerPort: z.number().int().min(1).max(65535),
  hostPort: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
});
export type Port = z.infer<typeof portSchema>;

/** What happens to a running instance when a mounted ConfigMap or Secret changes: `signal:HUP` sends SIGHUP after the files change. */
export const onChangeSchema = z
  .string()
  .regex(/^(restart|none|signal:(SIG)?[A-Z0-9]{2,8})$/, 'onChange must be restart, none or signal:<NAME> (e.g. signal:HUP)');
export type OnChange = z.infer<typeof onChangeSchema>;

const configItemSchema = z.strictObject({
  key: z.string().regex(/^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/, 'invalid key'),
  /** File name under mountPath (default: the key). */
  path: z
    .string()
    .regex(/^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/, 'a file name without / (no sub-folders)')
    .optional(),
});

export const volumeMountSchema = z
  .strictObject({
    /** A named volume outlives restarts and updates of the workload. */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
    mountPath: z.string().startsWith('/'),
    /** Bind this host path instead of a named volume. */
    hostPath: z.string().startsWith('/').optional(),
    readOnly: z.boolean().default(false),
    /** The keys of this ConfigMap as files under mountPath (read-only). */
    configMap: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid ConfigMap name').optional(),
    /** The keys of this Secret as files (0600, on a tmpfs where the device has one). */
    secret: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid Secret name').optional(),
    /** Only these keys, optionally under other file names (default: every key, named as the key). */
    items: z.array(configItemSchema).max(64).optional(),
    /** File mode (default 0644 for a ConfigMap, 0600 for a Secret). */
    mode: z.number().int().min(0).max(0o777).optional(),
    /** Default restart. Files are replaced atomically in every case. */
    onChange: onChangeSchema.optional(),
  })
  .superRefine((v, ctx) => {
    const sources = [v.hostPath, v.configMap, v.secret].filter((x) => x !== undefined).length;
    if (sources > 1) ctx.addIssue({ code: 'custom', path: ['configMap'], message: 'a volume has at most one of hostPath, configMap, secret' });
    if (v.configMap === undefined && v.secret === undefined) {
      for (const field of ['items', 'mode', 'onChange'] as const) {
        if (v[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs configMap or secret` });
      }
    }
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

/** The container and process templates around a resources schema (canonical or manifest). */
function templateSchemasWith<R extends z.ZodType<Resources>>(resources: R) {
  const common = {
    command: z.array(z.string()).max(64).optional(),
    args: z.array(z.string()).max(256).default([]),
    env: envSchema.default({}),
    /** Optional (no default) so that templates without them keep their revision hash. */
    envFrom: z.array(envFromSchema).max(16).optional(),
    valueFrom: z.record(envNameSchema, valueFromSchema).optional(),
    ports: z.array(portSchema).max(32).default([]),
    resources,
    volumes: z.array(volumeMountSchema).max(32).default([]),
    serialDevices: z.array(z.string().startsWith('/dev/')).max(16).default([]),
    peripherals: z.array(peripheralSchema).max(8).default([]),
    probes: z.strictObject({ liveness: probeSchema.optional(), readiness: probeSchema.optional() }).default({}),
    restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
    terminationGracePeriodSeconds: z.number().int().min(0).max(3600).default(10),
    /**
     * Services (kind: Service) this workload's instances reach: their device is sent those services'
     * endpoints and runs a local proxy; instances get `<NAME>_SERVICE_HOST/PORT` and a hosts entry.
     * Optional, not defaulted: templates stored before Services keep their canonical form (and revision).
     */
    services: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a service name')).max(16).optional(),
  };
  const container = z.strictObject({
    runtime: z.literal('container'),
    image: z.string().min(1, 'image is required').max(256),
    ...common,
  });
  const process = z.strictObject({
    runtime: z.literal('process'),
    command: z.array(z.string()).min(1, 'a process needs a command').max(64),
    args: common.args,
    env: common.env,
    envFrom: common.envFrom,
    valueFrom: common.valueFrom,
    workingDir: z.string().startsWith('/').optional(),
    ports: common.ports,
    resources: common.resources,
    volumes: common.volumes,
    serialDevices: common.serialDevices,
    peripherals: common.peripherals,
    probes: common.probes,
    restartPolicy: common.restartPolicy,
    terminationGracePeriodSeconds: common.terminationGracePeriodSeconds,
    services: common.services,
  });
  const template = z.discriminatedUnion('runtime', [container, process], {
    error: (issue) => (issue.code === 'invalid_union' ? 'runtime must be container or process' : undefined),
  });
  return { container, process, template };
}

const noResources: Resources = { requests: {}, limits: {}, devices: {} };
const canonical = templateSchemasWith(resourcesSchema.default(noResources));
export const containerTemplateSchema = canonical.container;
export const processTemplateSchema = canonical.process;
/** Canonical: what the hub stores and sends. Parsing its own output changes nothing. */
export const templateSchema = canonical.template;
export type Template = z.infer<typeof templateSchema>;
export type ContainerTemplate = z.infer<typeof containerTemplateSchema>;
export type ProcessTemplate = z.infer<typeof processTemplateSchema>;

/** As written in a manifest; its output is a canonical template. */
export const templateManifestSchema = templateSchemasWith(resourcesManifestSchema.default(noResources)).template;
