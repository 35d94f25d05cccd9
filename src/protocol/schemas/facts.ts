import { z } from 'zod';

export const archSchema = z.enum(['arm64', 'armv7', 'armv6', 'amd64', '386', 'riscv64', 'unknown']);
export type Arch = z.infer<typeof archSchema>;

export const attachedMcuSchema = z.strictObject({
  id: z.string().max(64),
  model: z.string().max(32),
  application: z.string().max(32),
  serial: z.string().max(32),
  firmwareVersion: z.string().max(32),
  port: z.string().max(256),
  online: z.boolean(),
});
export type AttachedMcu = z.infer<typeof attachedMcuSchema>;

export const serialPortSchema = z.strictObject({
  path: z.string().max(256),
  manufacturer: z.string().max(128).optional(),
  vendorId: z.string().max(16).optional(),
  productId: z.string().max(16).optional(),
  serialNumber: z.string().max(128).optional(),
});

/** What a device is. Re-sent when it changes, not on a timer; volatile readings live in metrics. */
export const factsSchema = z.strictObject({
  hostname: z.string().max(253),
  arch: archSchema,
  os: z.strictObject({
    platform: z.string().max(32),
    distro: z.string().max(128),
    release: z.string().max(64),
    kernel: z.string().max(128),
  }),
  board: z.strictObject({ manufacturer: z.string().max(128), model: z.string().max(128) }),
  cpu: z.strictObject({
    model: z.string().max(128),
    cores: z.number().int().min(1).max(4096),
    speedMHz: z.number().nonnegative().optional(),
  }),
  memory: z.strictObject({ totalBytes: z.number().int().nonnegative() }),
  disk: z.strictObject({ totalBytes: z.number().int().nonnegative(), freeBytes: z.number().int().nonnegative() }),
  temperatureC: z.number().min(-80).max(200).nullable(),
  runtimes: z.strictObject({
    docker: z.strictObject({ available: z.boolean(), version: z.string().max(64).optional() }),
    process: z.strictObject({ available: z.boolean() }),
  }),
  serialPorts: z.array(serialPortSchema).max(64),
  mcus: z.array(attachedMcuSchema).max(64),
  /** Extended resources a scheduler can count, e.g. `rk3588.npu: 1`. */
  resources: z.record(z.string().max(64), z.number().nonnegative()),
  /** Container images present locally, for image-locality scoring. */
  images: z.array(z.string().max(256)).max(512),
  /** Where other devices reach this one (`--advertise-address`, or its first non-loopback IPv4): service endpoints. */
  address: z.string().min(1).max(253).optional(),
});
export type Facts = z.infer<typeof factsSchema>;
