import * as z from 'zod';
import { MCU_ID_PATTERN } from '../topics.js';
import { isoTimeSchema } from './common.js';
import { sha256Schema } from './firmware.js';

/** `<model>-<serial hex>`: stable per chip and safe inside a topic. */
export const mcuIdSchema = z.string().regex(MCU_ID_PATTERN, 'invalid MCU id');

/** Units of the channel table in hardware/PROTOCOL.md after scaling (pitch 1234 → 12.34 deg). */
export const telemetryUnitSchema = z.enum(['deg', 'mg', '°C', 'mV', 'count', '']);

export const telemetryChannelSchema = z.strictObject({
  /** Channel id on the wire (PROTOCOL.md, "Channels"). */
  id: z.number().int().min(0).max(255),
  /** `pitch`, `roll`, … or `channel_<id>` for ids newer than this gateway. */
  name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  unit: telemetryUnitSchema,
  value: z.number().finite(),
});
export type TelemetryChannel = z.infer<typeof telemetryChannelSchema>;

/** One TELEMETRY frame as a gateway forwards it on `ep/v1/d/<gateway>/mcu/<mcu>/telemetry`. */
export const mcuTelemetrySchema = z.strictObject({
  /** When the gateway received the frame. */
  time: isoTimeSchema,
  mcu: mcuIdSchema,
  model: z.string().max(24),
  /** The MCU's milliseconds since boot (u32, wraps). */
  uptimeMs: z.number().int().min(0).max(0xffff_ffff),
  /** The generator sample the frame was computed from (channel 8), if the MCU sends it. */
  sampleIndex: z.number().int().min(0).max(0x7fff).nullable(),
  channels: z.array(telemetryChannelSchema).max(8),
});
export type McuTelemetry = z.infer<typeof mcuTelemetrySchema>;

/** `GET /v1/mcus`: one MCU behind a gateway, from the gateway's facts and its last telemetry. */
export const mcuViewSchema = z.object({
  gateway: z.string(),
  gatewayOnline: z.boolean(),
  id: z.string(),
  model: z.string(),
  application: z.string(),
  serial: z.string(),
  firmwareVersion: z.string(),
  port: z.string(),
  /** The gateway is online and reports the MCU answering. */
  online: z.boolean(),
  lastTelemetry: mcuTelemetrySchema.nullable(),
});
export type McuView = z.infer<typeof mcuViewSchema>;

/** `POST /v1/mcus/<gateway>/<mcu>/flash`: an image by sha256 (or a unique prefix of 8+) or by version. */
export const flashRequestSchema = z.strictObject({
  image: z.string().min(1).max(80),
  force: z.boolean().default(false),
  /** Remove the chip's readout protection first (AN3155 Readout Unprotect: erases the whole flash). */
  unprotect: z.boolean().default(false),
  /** How the flash is verified: the CRC-32 the new application reports (default) or reading it back. */
  verify: z.enum(['crc', 'readback']).optional(),
});
export type FlashRequest = z.infer<typeof flashRequestSchema>;

/** Params of the `flash` RPC the hub sends to a gateway. */
export const flashParamsSchema = z.strictObject({
  mcu: mcuIdSchema,
  sha256: sha256Schema,
  force: z.boolean().default(false),
  unprotect: z.boolean().default(false),
  verify: z.enum(['crc', 'readback']).optional(),
});
export type FlashParams = z.infer<typeof flashParamsSchema>;

export const flashStepSchema = z.enum(['download', 'backup', 'erase', 'write', 'verify', 'boot', 'rollback']);
export type FlashStep = z.infer<typeof flashStepSchema>;

/** Progress of one step: bytes for download/backup/write/verify/rollback, pages or 0/1 otherwise. */
export const flashProgressSchema = z.strictObject({
  type: z.literal('progress'),
  step: flashStepSchema,
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type FlashProgressLine = z.infer<typeof flashProgressSchema>;

/** Something a technician should read while it happens ("entering bootloader", "retrying block"). */
export const flashNoteSchema = z.strictObject({ type: z.literal('note'), message: z.string().max(500) });

/** The gateway's final word on a flash that went through (rolled back flashes end with an error). */
export const flashResultSchema = z.strictObject({
  type: z.literal('result'),
  mcu: z.string(),
  version: z.string(),
  previousVersion: z.string().nullable(),
  sha256: sha256Schema,
  bytesWritten: z.number().int().nonnegative(),
  retries: z.number().int().nonnegative(),
});
export type FlashResultLine = z.infer<typeof flashResultSchema>;

/** Lines of the hub's NDJSON answer to a flash request. */
export const flashStreamLineSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resolved'), gateway: z.string(), mcu: z.string(), sha256: sha256Schema, version: z.string(), target: z.string() }),
  flashProgressSchema,
  flashNoteSchema,
  flashResultSchema,
  z.strictObject({ type: z.literal('error'), message: z.string() }),
]);
export type FlashStreamLine = z.infer<typeof flashStreamLineSchema>;

/** What the gateway streams back over RPC (without the hub's own `resolved`/`error` lines). */
export const flashRpcUpdateSchema = z.discriminatedUnion('type', [flashProgressSchema, flashNoteSchema, flashResultSchema]);
export type FlashRpcUpdate = z.infer<typeof flashRpcUpdateSchema>;
