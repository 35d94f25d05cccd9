import { createHash } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { parseVersionRange, SEMVER_PATTERN, satisfiesRange } from '../semver.js';
import { nameSchema } from './common.js';
import { releaseConfigPinSchema, type ReleaseConfigPin } from './config-object.js';
import { sha256Schema } from './firmware.js';
import { templateManifestSchema, templateSchema } from './template.js';
import { API_VERSION, metadataSchema } from './workload.js';

/**
 * Words the CLI gives a meaning where a release or rollout name goes (`rollout undo --to previous`,
 * `get releases all`); an object with such a name could never be addressed unambiguously.
 */
export const RESERVED_NAMES: readonly string[] = ['all', 'none', 'current', 'previous', 'latest', 'default'];

/** nameSchema plus the reserved words. */
export const objectNameSchema = nameSchema.refine((name) => !RESERVED_NAMES.includes(name), {
  error: (issue) => `"${String(issue.input)}" is a reserved word (${RESERVED_NAMES.join(', ')}); choose another name`,
});

export const semverSchema = z.string().max(64).regex(SEMVER_PATTERN, 'must be a semantic version such as 2.1.0');

export const versionRangeSchema = z
  .string()
  .max(128)
  .superRefine((range, ctx) => {
    const parsed = parseVersionRange(range);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
  });

/** MCU model as IDENTITY reports it (same rule as a firmware manifest's target). */
export const mcuModelSchema = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,23}$/i, 'must be an MCU model such as stm32f103');

/** Which release a device runs or should run: name and version identify it (releases are immutable). */
export const releaseRefSchema = z.strictObject({ name: objectNameSchema, version: semverSchema });
export type ReleaseRef = z.infer<typeof releaseRefSchema>;

export const formatReleaseRef = (ref: ReleaseRef): string => `${ref.name}@${ref.version}`;
export const sameReleaseRef = (a: ReleaseRef | null, b: ReleaseRef | null): boolean =>
  a === b || (a !== null && b !== null && a.name === b.name && a.version === b.version);

/** One firmware image a release flashes onto every attached MCU of `mcuModel`, by its store sha256. */
export const releaseFirmwareSchema = z.strictObject({
  mcuModel: mcuModelSchema,
  version: semverSchema,
  sha256: sha256Schema,
});
export type ReleaseFirmware = z.infer<typeof releaseFirmwareSchema>;

/** `tilt-reader` needs firmware `>=2.0.0` on the stm32f103 it claims. */
export const compatibilitySchema = z.strictObject({
  workload: nameSchema,
  requiresFirmware: z.strictObject({ mcuModel: mcuModelSchema, versionRange: versionRangeSchema }),
});
export type Compatibility = z.infer<typeof compatibilitySchema>;

/** The fields of a release spec around its templates (canonical when stored, as written in a manifest). */
function releaseSpecFields<T extends z.ZodType<z.output<typeof templateSchema>>>(template: T) {
  return {
    version: semverSchema,
    /** Templates by workload name: what each named workload runs on a device of this release. */
    workloads: z.record(nameSchema, template).default({}),
    firmware: z.array(releaseFirmwareSchema).max(16).default([]),
    compatibility: z.array(compatibilitySchema).max(64).default([]),
    /**
     * ConfigMap/Secret versions this release's devices read instead of the newest (issue 14).
     * Optional without a default, so a release written before pins existed keeps its digest.
     */
    configs: z.array(releaseConfigPinSchema).max(64).optional(),
  };
}

type ReleaseSpecOutput = { version: string; workloads: Record<string, z.output<typeof templateSchema>>; firmware: ReleaseFirmware[]; compatibility: Compatibility[]; configs?: ReleaseConfigPin[] };

/** What every release spec must satisfy, whichever form its templates were written in. */
function checkReleaseSpec(spec: ReleaseSpecOutput, ctx: z.RefinementCtx): void {
  if (Object.keys(spec.workloads).length === 0 && spec.firmware.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['workloads'], message: 'a release needs at least one workload or firmware image' });
  }
  const models = new Map<string, number>();
  spec.firmware.forEach((fw, i) => {
    const first = models.get(fw.mcuModel);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['firmware', i, 'mcuModel'], message: `${fw.mcuModel} is already flashed by firmware[${first}]` });
    } else models.set(fw.mcuModel, i);
  });
  const pinned = new Set<string>();
  (spec.configs ?? []).forEach((pin, i) => {
    const key = `${pin.kind}/${pin.name}`;
    if (pinned.has(key)) ctx.addIssue({ code: 'custom', path: ['configs', i, 'name'], message: `${pin.kind.toLowerCase()} ${pin.name} is pinned twice` });
    pinned.add(key);
  });
  spec.compatibility.forEach((c, i) => {
    if (!(c.workload in spec.workloads)) {
      ctx.addIssue({ code: 'custom', path: ['compatibility', i, 'workload'], message: `workload "${c.workload}" is not in this release` });
    }
    // The release's own firmware must meet its own constraints, or no device could run it.
    const own = spec.firmware.find((fw) => fw.mcuModel === c.requiresFirmware.mcuModel);
    const range = c.requiresFirmware.versionRange;
    if (own && parseVersionRange(range).ok && !satisfiesRange(own.version, range)) {
      ctx.addIssue({
        code: 'custom',
        path: ['compatibility', i, 'requiresFirmware', 'versionRange'],
        message: `this release flashes ${own.mcuModel} ${own.version}, which does not satisfy "${c.requiresFirmware.versionRange}"`,
      });
    }
  });
}

/**
 * Canonical: what the hub stores and serves (templates with `cpuMillis`, `memoryBytes`).
 * Parsing its own output changes nothing.
 */
export const releaseSpecSchema = z.strictObject(releaseSpecFields(templateSchema)).superRefine(checkReleaseSpec);
/** As a user writes it in a manifest (`cpu: 500m`); its output is a canonical spec. */
export const releaseSpecManifestSchema = z.strictObject(releaseSpecFields(templateManifestSchema)).superRefine(checkReleaseSpec);
export type ReleaseSpec = z.infer<typeof releaseSpecSchema>;

export const releaseManifestSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Release'),
  metadata: metadataSchema.extend({ name: objectNameSchema }),
  spec: releaseSpecManifestSchema,
});
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>;

/** `sha256:` and 64 hex digits. */
export const releaseDigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 lower-case hex digits');

/**
 * The digest binding a HIL gate verdict to one exact release: sha256 over the canonical JSON
 * (sorted keys) of the release's name and parsed spec. Labels and annotations are left out
 * (they describe, they do not change what runs); defaults are in, so a manifest that spells a
 * default out and one that omits it get the same digest. Pass parsed data.
 */
export function releaseDigest(release: { metadata: { name: string }; spec: ReleaseSpec }): string {
  const content = canonicalJson({ name: release.metadata.name, spec: release.spec });
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}
