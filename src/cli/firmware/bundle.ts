/**
 * The signed bundle file (`*.epfw`): one JSON document with the manifest, its signature
 * and the flattened image in base64 (firmwareBundleSchema). A technician carries it to a
 * site without network and flashes it with `edgepilot flash --port`, with the same checks a
 * gateway makes; `edgepilot firmware push` uploads it unchanged.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describeIssues, firmwareBundleSchema, type FirmwareBundle } from '../../protocol/index.js';
import { CliError } from '../errors.js';
import type { SignedImage } from './signing.js';
import { errorMessage } from '../../common/errors.js';

export function isBundleFile(path: string): boolean {
  return path.toLowerCase().endsWith('.epfw');
}

export async function writeBundle(path: string, signed: SignedImage): Promise<void> {
  const bundle: FirmwareBundle = {
    apiVersion: 'edgepilot.io/v1',
    kind: 'FirmwareBundle',
    manifest: signed.manifest,
    signature: signed.signature,
    image: Buffer.from(signed.bytes).toString('base64'),
  };
  await writeFile(path, `${JSON.stringify(bundle, null, 2)}\n`, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(err.code === 'EEXIST' ? `${path} exists; not overwriting it` : `cannot write ${path}: ${err.message}`);
  });
}

/** The bundle as found in the file; nothing in it is trusted until admitFirmware says so. */
export async function readBundle(path: string): Promise<{ bundle: FirmwareBundle; bytes: Uint8Array }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CliError(`${path} is not a firmware bundle (${errorMessage(err).split('\n')[0] ?? ''})`);
  }
  const parsed = firmwareBundleSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`${path} is not a firmware bundle: ${describeIssues(parsed.error.issues)}`);
  return { bundle: parsed.data, bytes: new Uint8Array(Buffer.from(parsed.data.image, 'base64')) };
}
