/**
 * Firmware manifest: what an image is, for which MCU, and its digest. The signature
 * covers the canonical JSON encoding, so the manifest can travel as ordinary JSON
 * (files, MQTT, the hub API) and be re-serialised without breaking verification.
 */
import type { FirmwareImage, ImageFormat } from '../image/image.js';
import { flattenImage, imageSha256 } from '../image/image.js';
import { isSemver } from './semver.js';

export interface FirmwareManifest {
  readonly schema: 1;
  /** MCU model as the MCU reports it in IDENTITY (PROTOCOL.md), e.g. 'stm32f103'. */
  readonly target: string;
  /** Semantic version of the firmware. */
  readonly version: string;
  /** Bytes in the flattened image (first to last byte, gaps filled with 0xFF). */
  readonly size: number;
  /** Lower-case hex sha256 of the flattened image. */
  readonly sha256: string;
  /** Address of the first byte of the flattened image. */
  readonly loadAddress: number;
  /** ISO-8601 timestamp. */
  readonly createdAt: string;
  /** How the image file is stored; the digest does not depend on it. */
  readonly format: ImageFormat;
}

export interface CreateManifestOptions {
  readonly target: string;
  readonly version: string;
  readonly format: ImageFormat;
  /** Passed in, not read from a clock, so builds are reproducible. */
  readonly createdAt: Date | string;
}

/** What createManifest refuses to make; `problem` alone (without the prefix) is for a one-line CLI error. */
export class ManifestError extends TypeError {
  readonly code = 'invalid-manifest';
  constructor(readonly problem: string) {
    super(`invalid manifest: ${problem}`);
  }
}

export function createManifest(image: FirmwareImage, options: CreateManifestOptions): FirmwareManifest {
  const flat = flattenImage(image);
  const manifest: FirmwareManifest = {
    schema: 1,
    target: options.target,
    version: options.version,
    size: flat.data.length,
    sha256: imageSha256(image),
    loadAddress: flat.address,
    createdAt: typeof options.createdAt === 'string' ? options.createdAt : options.createdAt.toISOString(),
    format: options.format,
  };
  const problem = manifestProblem(manifest);
  if (problem !== undefined) throw new ManifestError(problem);
  return manifest;
}

/** Why `value` is not a valid manifest, or undefined if it is one. */
export function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const m = value as Record<string, unknown>;
  const known = new Set(['schema', 'target', 'version', 'size', 'sha256', 'loadAddress', 'createdAt', 'format']);
  const extra = Object.keys(m).find((k) => !known.has(k));
  if (extra !== undefined) return `unknown field ${JSON.stringify(extra)}`;
  if (m.schema !== 1) return `schema must be 1, is ${JSON.stringify(m.schema)}`;
  if (typeof m.target !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,23}$/i.test(m.target)) {
    // 24 characters: the longest model string IDENTITY can carry (PROTOCOL.md, "IDENTITY payload").
    return 'target must be an MCU model string of at most 24 characters';
  }
  if (typeof m.version !== 'string' || !isSemver(m.version)) return `version ${JSON.stringify(m.version)} is not a semantic version`;
  if (typeof m.size !== 'number' || !Number.isSafeInteger(m.size) || m.size < 0) return 'size must be a non-negative integer';
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) return 'sha256 must be 64 lower-case hex digits';
  if (typeof m.loadAddress !== 'number' || !Number.isInteger(m.loadAddress) || m.loadAddress < 0 || m.loadAddress > 0xffff_ffff) {
    return 'loadAddress must be a 32-bit unsigned integer';
  }
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt)) || !/^\d{4}-\d\d-\d\dT/.test(m.createdAt)) {
    return 'createdAt must be an ISO-8601 timestamp';
  }
  if (m.format !== 'hex' && m.format !== 'bin') return "format must be 'hex' or 'bin'";
  return undefined;
}

export function isFirmwareManifest(value: unknown): value is FirmwareManifest {
  return manifestProblem(value) === undefined;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no
 * whitespace, numbers and strings as JSON.stringify writes them. Signer and
 * verifier both sign/verify these exact bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no encoding for non-finite numbers');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}
