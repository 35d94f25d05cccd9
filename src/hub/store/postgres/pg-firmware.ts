// Firmware images and trusted keys in PostgreSQL (migration 003): one statement each, each its own
// transaction, durable before it resolves.
import type { SharedFirmwareRepository } from '../firmware-records.js';
import type { RecordsDb } from './records-db.js';

export function pgFirmwareRepository(db: RecordsDb): SharedFirmwareRepository {
  return {
    entries: async () => (await db.query<{ sha256: string; entry: unknown }>('SELECT sha256, entry FROM ep_firmware_images ORDER BY sha256')).map((r) => ({ sha256: r.sha256, entry: r.entry })),
    image: async (sha256) => {
      const rows = await db.query<{ image: Buffer }>('SELECT image FROM ep_firmware_images WHERE sha256 = $1', [sha256]);
      return rows[0] && new Uint8Array(rows[0].image);
    },
    putImage: async (sha256, entry, image) => {
      // The target is claimed in lower case, as the hubs compare targets (migration 005). A
      // conflict on either unique index (the sha, the claim) inserts nothing; which one is read after.
      const target = entry.manifest.target.toLowerCase();
      const { version } = entry.manifest;
      const inserted = await db.query(
        'INSERT INTO ep_firmware_images (sha256, entry, image, claim_target, claim_version) VALUES ($1, $2::json, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING sha256',
        [sha256, JSON.stringify(entry), Buffer.from(image), target, version],
      );
      if (inserted.length === 1) return 'stored';
      const holder = await db.query<{ sha256: string }>('SELECT sha256 FROM ep_firmware_images WHERE claim_target = $1 AND claim_version = $2', [target, version]);
      const other = holder[0]?.sha256;
      return other !== undefined && other !== sha256 ? { versionTakenBy: other } : 'exists';
    },
    putEntry: async (sha256, entry) => (await db.query('UPDATE ep_firmware_images SET entry = $2::json WHERE sha256 = $1 RETURNING sha256', [sha256, JSON.stringify(entry)])).length === 1,
    keys: async () => (await db.query<{ keyId: string; pem: string; addedAt: string }>('SELECT key_id AS "keyId", pem, added_at AS "addedAt" FROM ep_firmware_keys ORDER BY key_id')).map((r) => ({ ...r })),
    addKey: async (key) => {
      await db.query('INSERT INTO ep_firmware_keys (key_id, pem, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [key.keyId, key.pem, key.addedAt]);
    },
    removeKey: async (keyId) => (await db.query('DELETE FROM ep_firmware_keys WHERE key_id = $1 RETURNING key_id', [keyId])).length === 1,
  };
}
