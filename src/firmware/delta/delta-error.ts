/** Why a delta could not be read or applied; callers branch on `code`, never on the text. */
export type DeltaErrorCode =
  /** Not a BSDF2 patch (or a BSDIFF40 one, whose bzip2 streams we do not read). */
  | 'bad-magic'
  /** A compression type we do not read (only 0 = none and 2 = brotli are). */
  | 'unsupported-compression'
  /** The patch ends before its header or a stream says it should. */
  | 'truncated'
  /** The patch is well-formed but inconsistent: a control entry reaches past the new file or its streams. */
  | 'corrupt'
  /** The patch would make a file of another size than the caller expects, or beyond the limit. */
  | 'size-mismatch';

export class DeltaError extends Error {
  constructor(
    readonly code: DeltaErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DeltaError';
  }
}
