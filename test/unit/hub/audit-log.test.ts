import test from 'ava';
import { appendFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditLog } from '../../../src/hub/api/audit/audit-log.js';
import type { AuditEntry } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

function entry(i: number, who = 'alice'): AuditEntry {
  return { time: new Date(Date.UTC(2026, 10, 30, 12, 0, i)).toISOString(), who, role: 'operator', method: 'POST', route: '/v1/apply', object: `Workload/w${i}`, status: 200, source: '127.0.0.1' };
}

test('entries appended concurrently are all kept, in order, and readable after reopening', async (t) => {
  const dir = await makeTempDir('ep-audit-');
  t.teardown(() => dir.remove());
  const log = await AuditLog.open(dir.path);
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(entry(i, i % 2 ? 'bob' : 'alice'))));
  await log.close();
  const again = await AuditLog.open(dir.path);
  t.teardown(() => again.close());
  const all = await again.read({ limit: 500 });
  t.is(all.length, 50);
  t.deepEqual(all.map((e) => e.object), Array.from({ length: 50 }, (_, i) => `Workload/w${i}`));
  t.is((await again.read({ who: 'bob', limit: 500 })).length, 25);
  t.is((await again.read({ since: entry(40).time, limit: 500 })).length, 10);
  t.deepEqual((await again.read({ limit: 2 })).map((e) => e.object), ['Workload/w48', 'Workload/w49']);
});

test('a line torn by a crash is skipped, and the next entry after a restart starts a line of its own', async (t) => {
  const dir = await makeTempDir('ep-audit-');
  t.teardown(() => dir.remove());
  const before = await AuditLog.open(dir.path);
  await before.append(entry(1));
  await before.close();
  await appendFile(join(dir.path, 'audit.jsonl'), '{"time":"2026-11-30T12:');
  const log = await AuditLog.open(dir.path);
  await log.append(entry(2));
  t.teardown(() => log.close());
  t.deepEqual((await log.read({ limit: 10 })).map((e) => e.object), ['Workload/w1', 'Workload/w2']);
});

test('bounded: past maxBytes the file rotates, at most two files are kept', async (t) => {
  const dir = await makeTempDir('ep-audit-');
  t.teardown(() => dir.remove());
  const log = await AuditLog.open(dir.path, { maxBytes: 2_000 });
  t.teardown(() => log.close());
  for (let i = 0; i < 100; i++) await log.append(entry(i % 60));
  t.deepEqual((await readdir(dir.path)).sort(), ['audit.1.jsonl', 'audit.jsonl']);
  for (const name of ['audit.1.jsonl', 'audit.jsonl']) t.true((await stat(join(dir.path, name))).size < 2_000 + 300, name);
  const kept = await log.read({ limit: 10_000 });
  t.true(kept.length > 0 && kept.length < 100);
  t.is(kept.at(-1)?.object, `Workload/w${99 % 60}`, 'the newest entry is kept');
});
