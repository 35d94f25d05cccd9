/**
 * "Can this image ever be flashed onto that MCU model?" — asked when an image is signed
 * (CLI), when it is uploaded (hub, which must not trust the CLI) and again by the gateway
 * before flashing (admission.ts). Pure: the model's flash layout comes from flash-targets.ts,
 * whose numbers a unit test keeps equal to the board profiles in hardware/profiles.
 *
 * The image must start at the flash base: that is where the application's vector table
 * sits and where the updater's AN3155 Go jumps. The flasher pads blocks to the 4-byte
 * alignment Write Memory needs itself, so no further alignment is asked of the image.
 */
import type { FirmwareImage } from '../image/image.js';
import { hex32, imageSpan } from '../image/segments.js';
import { isSemver } from '../manifest/semver.js';
import { flashGeometryFor, knownFlashTargets, type FlashGeometry } from './flash-targets.js';

export type TargetProblemCode = 'unknown-target' | 'bad-version' | 'empty-image' | 'outside-flash' | 'too-large' | 'not-at-flash-base';

export interface TargetProblem {
  readonly code: TargetProblemCode;
  readonly message: string;
}

/** A TargetProblem as a thrown error, for callers that throw (the code is for branching, the message for people). */
export class TargetCheckError extends Error {
  override name = 'TargetCheckError';
  constructor(readonly code: TargetProblemCode, message: string) {
    super(message);
  }
}

export interface TargetCheckInput {
  /** MCU model as the manifest names it (IDENTITY's model string). */
  readonly target: string;
  readonly version: string;
  readonly image: FirmwareImage;
}

/** Why `image` cannot be `target` firmware `version`, or undefined if it can. */
export function targetProblem(input: TargetCheckInput): TargetProblem | undefined {
  const labels = labelProblem(input.target, input.version);
  if (labels !== undefined) return labels;
  const geometry = flashGeometryFor(input.target);
  return geometry === undefined ? undefined : flashFitProblem(input.image, geometry);
}

/** The checks that need no image: is the target a known MCU model, is the version semver? */
export function labelProblem(target: string, version: string): TargetProblem | undefined {
  if (flashGeometryFor(target) === undefined) {
    const known = knownFlashTargets().map((t) => t.model).join(', ');
    return problem('unknown-target', `unknown target ${JSON.stringify(target)}; known MCU models: ${known}`);
  }
  if (!isSemver(version)) return problem('bad-version', `version ${JSON.stringify(version)} is not a semantic version (like 1.2.0)`);
  return undefined;
}

export function assertTargetFits(input: TargetCheckInput): void {
  const found = targetProblem(input);
  if (found !== undefined) throw new TargetCheckError(found.code, found.message);
}

/** Why `image` does not fit the flash described by `geometry`, or undefined if it does. */
export function flashFitProblem(image: FirmwareImage, geometry: FlashGeometry): TargetProblem | undefined {
  const span = imageSpan(image);
  if (span === undefined) return problem('empty-image', 'image is empty: it has no data to flash');
  const flashEnd = geometry.flashBase + geometry.flashSize;
  const range = `${geometry.model} flash ${hex32(geometry.flashBase)}–${hex32(flashEnd - 1)}`;
  // Segments that start outside the flash first: a HEX file with data in RAM would
  // otherwise be reported as hundreds of megabytes "too large".
  for (const segment of image.segments) {
    if (segment.address < geometry.flashBase || segment.address >= flashEnd) {
      return problem('outside-flash', `segment at ${hex32(segment.address)} is outside ${range}`);
    }
  }
  const size = span.end - span.start;
  if (size > geometry.flashSize) {
    return problem('too-large', `image is ${bytes(size)}; ${geometry.model} has ${bytes(geometry.flashSize)} of flash`);
  }
  for (const segment of image.segments) {
    const end = segment.address + segment.data.length;
    if (end > flashEnd) {
      return problem('outside-flash', `segment at ${hex32(segment.address)} (${bytes(segment.data.length)}) runs past the end of ${range}`);
    }
  }
  if (span.start !== geometry.flashBase) {
    return problem(
      'not-at-flash-base',
      `image starts at ${hex32(span.start)}; ${geometry.model} images must start at the flash base ${hex32(geometry.flashBase)} (the vector table the bootloader jumps to)`,
    );
  }
  return undefined;
}

function problem(code: TargetProblemCode, message: string): TargetProblem {
  return { code, message };
}

function bytes(n: number): string {
  return `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;
}
