/**
 * The public keys whose firmware signatures the hub accepts for upload: those given with
 * `edgepilot hub --firmware-key <pem>` and those registered through the API (kept as
 * `<keyId>.pem` in the hub's data folder). Gateways check again with their own keys.
 */
import { createPublicKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileDurably } from '../../common/durable-file.js';
import { keyIdOf } from '../../firmware/index.js';
import type { FirmwareKeyView } from '../../protocol/index.js';

export class TrustedKeys {
  private readonly keys = new Map<string, FirmwareKeyView>();

  private constructor(private readonly directory: string) {}

  static async open(directory: string, flagKeyFiles: readonly string[]): Promise<TrustedKeys> {
    await ensureDir(directory);
    const trusted = new TrustedKeys(directory);
    for (const file of flagKeyFiles) {
      let pem: string;
      try {
        pem = await readFile(file, 'utf8');
      } catch (err) {
        throw new Error(`--firmware-key ${file}: ${(err as Error).message}`);
      }
      const problem = publicKeyProblem(pem);
      if (problem) throw new Error(`--firmware-key ${file}: ${problem}`);
      trusted.remember(pem, 'flag');
    }
    for (const name of (await readdir(directory)).sort()) {
      if (!name.endsWith('.pem')) continue;
      const pem = await readFile(join(directory, name), 'utf8');
      if (publicKeyProblem(pem) === undefined) trusted.remember(pem, 'api');
    }
    return trusted;
  }

  list(): FirmwareKeyView[] {
    return [...this.keys.values()];
  }

  pems(): string[] {
    return this.list().map((k) => k.publicKeyPem);
  }

  /** Registers a public key durably; registering a known key again is a no-op. */
  async add(pem: string): Promise<FirmwareKeyView> {
    const problem = publicKeyProblem(pem);
    if (problem) throw new TypeError(problem);
    const keyId = keyIdOf(pem);
    const known = this.keys.get(keyId);
    if (known) return known;
    await writeFileDurably(join(this.directory, `${keyId}.pem`), pem.trim() + '\n');
    return this.remember(pem, 'api');
  }

  private remember(pem: string, source: FirmwareKeyView['source']): FirmwareKeyView {
    const view: FirmwareKeyView = { keyId: keyIdOf(pem), source, publicKeyPem: pem.trim() + '\n' };
    if (!this.keys.has(view.keyId)) this.keys.set(view.keyId, view);
    return view;
  }
}

/** Only Ed25519 public keys: a private key has no business on the hub. */
export function publicKeyProblem(pem: string): string | undefined {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) return 'not a PEM public key (-----BEGIN PUBLIC KEY-----)';
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') return `an ${key.asymmetricKeyType ?? 'unknown'} key; firmware is signed with Ed25519`;
  } catch (err) {
    return `unreadable key (${(err as Error).message})`;
  }
  return undefined;
}
