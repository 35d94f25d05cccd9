/**
 * Reading a firmware public key file for `firmware trust` and `firmware untrust`: checked
 * here, before anything goes to the hub, so the error names the file and what is wrong
 * with it (`garbage.pub is not a PEM public key (...)`). The hub checks again.
 */
import { readFile } from 'node:fs/promises';
import { keyIdOf, publicKeyProblem } from '../../firmware/index.js';
import { CliError } from '../errors.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

export interface PublicKeyFile {
  readonly pem: string;
  readonly keyId: string;
}

export async function readPublicKeyFile(file: string): Promise<PublicKeyFile> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${errnoCode(err) ?? errorMessage(err)}`);
  }
  const problem = publicKeyProblem(pem);
  if (problem) throw new CliError(`${file} is ${problem.message}`);
  return { pem, keyId: keyIdOf(pem) };
}
