/**
 * The public keys whose firmware signatures the hub accepts for upload: those given with
 * `edgepilot hub --firmware-key <pem>` and those registered through the API (kept as
 * `<keyId>.pem` in the hub's data folder). Gateways check again with their own keys
 * (`edgepilot agent --trust-key`): this list is not sent to them.
 */
import { open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileDurably } from '../../common/durable-file.js';
import { keyFingerprint, publicKeyProblem, type PublicKeyProblemCode } from '../../firmware/index.js';
import type { FirmwareKeyView } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';
import type { SharedFirmwareRepository } from '../store/firmware-records.js';

export type TrustedKeyErrorCode = PublicKeyProblemCode | 'unknown-key' | 'flag-key';

export class TrustedKeyError extends Error {
  override name = 'TrustedKeyError';
  constructor(readonly code: TrustedKeyErrorCode, message: string) {
    super(message);
  }
}

interface TrustedKey {
  readonly view: FirmwareKeyView;
  /** The --firmware-key file it came from; such a key lasts as long as the flag does. */
  readonly flagFile?: string;
}

export class TrustedKeys {
  private readonly keys = new Map<string, TrustedKey>();
  /** Counts this hub's own changes: a shared read made before one of them is not applied (see sync). */
  private changes = 0;

  private constructor(
    private readonly directory: string,
    /** Where hubs share a store: keys trusted at any hub (this folder is then this hub's copy). */
    private readonly shared: SharedFirmwareRepository | undefined,
  ) {}

  /** `shared`: the store several hubs share, if any; keys trusted only here before are stored there. */
  static async open(directory: string, flagKeyFiles: readonly string[], shared?: SharedFirmwareRepository): Promise<TrustedKeys> {
    await ensureDir(directory);
    const trusted = new TrustedKeys(directory, shared);
    for (const file of flagKeyFiles) {
      let pem: string;
      try {
        pem = await readFile(file, 'utf8');
      } catch (err) {
        throw new Error(`--firmware-key ${file}: ${errorMessage(err)}`);
      }
      const problem = publicKeyProblem(pem);
      if (problem) throw new Error(`--firmware-key ${file}: ${problem.message}`);
      trusted.remember(pem, { source: 'flag', flagFile: file });
    }
    for (const name of (await readdir(directory)).sort()) {
      if (!name.endsWith('.pem')) continue;
      const path = join(directory, name);
      const pem = await readFile(path, 'utf8');
      if (publicKeyProblem(pem) !== undefined) continue;
      const addedAt = (await stat(path)).mtime.toISOString();
      trusted.remember(pem, { source: 'api', addedAt });
    }
    if (shared) {
      const there = new Set((await shared.keys()).map((k) => k.keyId));
      for (const key of trusted.keys.values()) {
        const { view } = key;
        if (key.flagFile === undefined && !there.has(view.keyId)) await shared.addKey({ keyId: view.keyId, pem: view.publicKeyPem, addedAt: view.addedAt ?? new Date().toISOString() });
      }
      await trusted.sync();
    }
    return trusted;
  }

  /**
   * Brings this copy up to date with the shared store (none: nothing to do): keys trusted at
   * another hub are trusted here, keys untrusted there are untrusted here (--firmware-key ones
   * stay: the flag is this hub's).
   */
  async sync(): Promise<void> {
    if (!this.shared) return;
    const before = this.changes;
    const there = await this.shared.keys();
    // A key this hub trusted or untrusted while the read was on its way: the next read sees it.
    if (this.changes !== before) return;
    const ids = new Set<string>();
    for (const key of there) {
      if (publicKeyProblem(key.pem) !== undefined || keyFingerprint(key.pem).slice(0, 16) !== key.keyId) continue;
      ids.add(key.keyId);
      if (this.keys.has(key.keyId) || this.changes !== before) continue;
      const view = this.remember(key.pem, { source: 'api', addedAt: key.addedAt });
      await writeFileDurably(this.pathOf(view.keyId), view.publicKeyPem);
    }
    for (const [keyId, key] of this.keys) {
      if (key.flagFile !== undefined || ids.has(keyId) || this.changes !== before) continue;
      this.keys.delete(keyId);
      await this.unlinkDurably(keyId);
    }
  }

  list(): FirmwareKeyView[] {
    return [...this.keys.values()].map((k) => k.view);
  }

  pems(): string[] {
    return this.list().map((k) => k.publicKeyPem);
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Registers a public key durably; registering a known key again is a no-op. */
  async add(pem: string, now: Date): Promise<FirmwareKeyView> {
    const problem = publicKeyProblem(pem);
    if (problem) throw new TrustedKeyError(problem.code, `publicKeyPem is ${problem.message}`);
    const known = this.keys.get(keyFingerprint(pem).slice(0, 16));
    if (known) return known.view;
    const view = this.remember(pem, { source: 'api', addedAt: now.toISOString() });
    this.changes += 1;
    try {
      await this.shared?.addKey({ keyId: view.keyId, pem: view.publicKeyPem, addedAt: now.toISOString() });
      await writeFileDurably(this.pathOf(view.keyId), view.publicKeyPem);
    } catch (err) {
      this.keys.delete(view.keyId);
      throw err;
    }
    return view;
  }

  /**
   * Stops trusting a key registered through the API, durably: its file is unlinked and the
   * folder fsynced before this resolves, so a restarted hub does not trust it again. A key
   * from --firmware-key cannot be removed here; the flag would bring it back on restart.
   */
  async remove(keyId: string): Promise<FirmwareKeyView> {
    const key = this.keys.get(keyId);
    if (!key) throw new TrustedKeyError('unknown-key', `the hub does not trust a firmware key ${keyId}`);
    if (key.flagFile !== undefined) {
      throw new TrustedKeyError('flag-key', `key ${keyId} comes from --firmware-key ${key.flagFile}; restart the hub without that flag to stop trusting it`);
    }
    this.changes += 1;
    await this.shared?.removeKey(keyId);
    await this.unlinkDurably(keyId);
    this.keys.delete(keyId);
    return key.view;
  }

  private async unlinkDurably(keyId: string): Promise<void> {
    await unlink(this.pathOf(keyId)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    const folder = await open(this.directory, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  private pathOf(keyId: string): string {
    if (!/^[0-9a-f]{16}$/.test(keyId)) throw new RangeError('not a key id');
    return join(this.directory, `${keyId}.pem`);
  }

  private remember(pem: string, origin: { source: 'flag'; flagFile: string } | { source: 'api'; addedAt: string }): FirmwareKeyView {
    const fingerprint = keyFingerprint(pem);
    const keyId = fingerprint.slice(0, 16);
    const known = this.keys.get(keyId);
    if (known) return known.view;
    const view: FirmwareKeyView = {
      keyId,
      fingerprint,
      source: origin.source,
      ...(origin.source === 'api' ? { addedAt: origin.addedAt } : {}),
      publicKeyPem: pem.trim() + '\n',
    };
    this.keys.set(keyId, origin.source === 'flag' ? { view, flagFile: origin.flagFile } : { view });
    return view;
  }
}
