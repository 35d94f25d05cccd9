// Hubs sharing a store share the key of Secrets at rest: the first hub records its key's
// fingerprint, a hub started with another key refuses to start and says why.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { checkSharedDataKey, DataKeyError, dataKeyFingerprint } from '../../../src/hub/config-objects/data-key.js';
import type { SharedSettings } from '../../../src/hub/store/repository.js';

function settings(): SharedSettings & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    getOrCreate: (key, value) => {
      const stored = values.get(key);
      if (stored !== undefined) return Promise.resolve({ value: stored, created: false });
      values.set(key, value);
      return Promise.resolve({ value, created: true });
    },
  };
}

test('the first hub records its key; a hub with the same key starts; one with another key is refused, naming both fingerprints', async (t) => {
  const shared = settings();
  const key = randomBytes(32);
  await checkSharedDataKey(key, shared, '--secret-key-file /etc/edgepilot/secrets.key');
  t.deepEqual([...shared.values.values()], [dataKeyFingerprint(key)]);
  await t.notThrowsAsync(checkSharedDataKey(Buffer.from(key), shared, 'hub-b/secrets.key'));
  const other = randomBytes(32);
  const error = await t.throwsAsync(checkSharedDataKey(other, shared, 'hub-c/secrets.key'), { instanceOf: DataKeyError });
  t.is(error?.code, 'bad-data-key');
  t.regex(error?.message ?? '', new RegExp(`^hub-c/secrets\\.key \\(fingerprint ${dataKeyFingerprint(other)}\\) is not the secret key of the hubs sharing this store \\(fingerprint ${dataKeyFingerprint(key)}\\).*same --secret-key-file$`));
});

test('a hub on a store of its own (no shared settings) checks nothing; the fingerprint does not reveal the key', async (t) => {
  const key = randomBytes(32);
  await t.notThrowsAsync(checkSharedDataKey(key, undefined, 'secrets.key'));
  t.regex(dataKeyFingerprint(key), /^[a-f0-9]{16}$/);
  t.false(key.toString('hex').includes(dataKeyFingerprint(key)));
});
