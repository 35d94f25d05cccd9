// Firmware images and trusted signing keys where several hubs share a store (issue 15). Each hub
// keeps its own copy in its data folder (it serves images from there, byte ranges included) and
// brings it up to date from here (src/hub/firmware/firmware-sync.ts).

/** What the shared store reads of an image's entry to claim its target and version. */
export interface SharedImageEntry {
  manifest: { target: string; version: string };
}

export type PutImageOutcome = 'stored' | 'exists' | { versionTakenBy: string };

export interface SharedFirmwareKey {
  keyId: string;
  pem: string;
  addedAt: string;
}

/** Images by sha256 (content-addressed: the bytes of a sha never change; its signed manifest may). */
export interface SharedFirmwareRepository {
  /** Every image's stored entry (manifest, signature, upload time), without the bytes. */
  entries(): Promise<{ sha256: string; entry: unknown }[]>;
  image(sha256: string): Promise<Uint8Array | undefined>;
  /**
   * Stores an image durably, claiming its target and version (one image each, across hubs):
   * `exists` if the sha was stored already, `{ versionTakenBy }` if another image holds that
   * target and version (then nothing changes either).
   */
  putImage(sha256: string, entry: SharedImageEntry, image: Uint8Array): Promise<PutImageOutcome>;
  /** Replaces the entry of a stored image (re-signed); false if there is no such image. */
  putEntry(sha256: string, entry: unknown): Promise<boolean>;
  keys(): Promise<SharedFirmwareKey[]>;
  /** Trusts a key durably; trusting a known key again changes nothing. */
  addKey(key: SharedFirmwareKey): Promise<void>;
  /** Stops trusting a key durably; false if it was not trusted. */
  removeKey(keyId: string): Promise<boolean>;
}
