// Observed state (facts, reports, events) is a snapshot plus a journal of changed records: a flush
// writes what changed, not the fleet (observed.json written whole was the largest hub cost of a
// rollout wave), and a load replays the journal of its own snapshot only.
import test from 'ava';
import { readdir, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ObservedJournal } from '../../../src/hub/store/observed-journal.js';
import { emptyObserved, type ObservedDocument } from '../../../src/hub/store/document.js';
import type { ReportedState } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const report = (generation: number): ReportedState => ({ observedGeneration: generation, time: '2026-06-01T12:00:00.000Z', instances: [] });

function fleet(n: number): ObservedDocument {
  const doc = emptyObserved();
  for (let i = 0; i < n; i++) doc.reported[`dev-${i}`] = report(1);
  return doc;
}

async function opened(t: { teardown(f: () => Promise<void>): void }, minCompactBytes?: number) {
  const dir = await makeTempDir('ep-observed-journal-');
  t.teardown(() => dir.remove());
  const warnings: string[] = [];
  const make = () => new ObservedJournal(join(dir.path, 'observed.json'), (m) => warnings.push(m), minCompactBytes);
  return { dir: dir.path, warnings, make };
}

test('the first flush writes a snapshot; later flushes append only the changed records, and a load replays them', async (t) => {
  const { dir, make } = await opened(t);
  const journal = make();
  t.is(await journal.read(), null);
  const doc = fleet(2000);
  await journal.write(doc);
  const snapshot = await readFile(join(dir, 'observed.json'), 'utf8');
  doc.reported['dev-7'] = report(2);
  journal.changed('reported', 'dev-7');
  delete doc.reported['dev-8'];
  journal.changed('reported', 'dev-8');
  await journal.write(doc);
  t.is(await readFile(join(dir, 'observed.json'), 'utf8'), snapshot, 'the snapshot is not written again');
  const lines = (await readFile(journal.journalPath(), 'utf8')).trim().split('\n');
  t.is(lines.length, 3, 'one line per changed record, not the fleet, and the seal of the flush');
  t.regex(lines[2] ?? '', /^\{"sum":"[0-9a-f]{64}"\}$/);
  // A flush with nothing changed writes nothing.
  const size = (await stat(journal.journalPath())).size;
  await journal.write(doc);
  t.is((await stat(journal.journalPath())).size, size);
  const loaded = await make().read();
  t.is(loaded?.reported['dev-7']?.observedGeneration, 2);
  t.is(loaded?.reported['dev-8'], undefined);
  t.is(Object.keys(loaded?.reported ?? {}).length, 1999);
});

test('a torn last line (a crash in an append) is ignored; damage before the end is named', async (t) => {
  const { dir, warnings, make } = await opened(t);
  const journal = make();
  await journal.read();
  const doc = fleet(3);
  await journal.write(doc);
  doc.reported['dev-1'] = report(5);
  journal.changed('reported', 'dev-1');
  await journal.write(doc);
  await appendFile(journal.journalPath(), '{"c":"reported","k":"dev-2","v":{"observedGen');
  const loaded = await make().read();
  t.is(loaded?.reported['dev-1']?.observedGeneration, 5);
  t.is(loaded?.reported['dev-2']?.observedGeneration, 1);
  t.deepEqual(warnings, []);
  // The next flush after such a load starts a new snapshot: an append would join the torn line.
  const reopened = make();
  const after = (await reopened.read()) ?? emptyObserved();
  after.reported['dev-2'] = report(4);
  reopened.changed('reported', 'dev-2');
  await reopened.write(after);
  t.is((await make().read())?.reported['dev-2']?.observedGeneration, 4);
  t.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.log')), [], 'the torn journal is gone with its snapshot');
  await writeFile(journal.journalPath(2), `${JSON.stringify({ c: 'reported', k: 'dev-1', v: report(6) })}\n`);
  await appendFile(journal.journalPath(2), 'garbage\n{"c":"reported","k":"dev-0","v":' + JSON.stringify(report(9)) + '}\n');
  const again = await make().read();
  t.is(again?.reported['dev-1']?.observedGeneration, 6);
  t.is(again?.reported['dev-0']?.observedGeneration, 1, 'entries after a damaged line are left out');
  t.regex(warnings[0] ?? '', /observed\.2\.log: line 2 is not a journal entry/);
});

test('a journal longer than its snapshot is folded into a new snapshot; the old journal goes only after it is durable', async (t) => {
  const { dir, make } = await opened(t, 1);
  const journal = make();
  await journal.read();
  const doc = fleet(5);
  await journal.write(doc);
  t.deepEqual((await readdir(dir)).sort(), ['observed.json']);
  for (let round = 2; round < 40; round++) {
    for (const id of Object.keys(doc.reported)) {
      doc.reported[id] = report(round);
      journal.changed('reported', id);
    }
    await journal.write(doc);
  }
  const snapshot = JSON.parse(await readFile(join(dir, 'observed.json'), 'utf8')) as { journal: number };
  t.true(snapshot.journal > 2, `compacted more than once (generation ${snapshot.journal})`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.log'));
  t.true(files.every((f) => f === `observed.${snapshot.journal}.log`), files.join(', '));
  const loaded = await make().read();
  t.true(Object.values(loaded?.reported ?? {}).every((r) => r.observedGeneration === 39));
});

test('a crash between a new snapshot and removing the old journal: the old journal is not replayed onto it, and is removed', async (t) => {
  const { dir, make } = await opened(t);
  const doc = fleet(2);
  doc.reported['dev-0'] = report(7);
  await writeFile(join(dir, 'observed.json'), JSON.stringify({ journal: 4, ...doc }));
  // Generation 3's journal holds an older value of dev-0: replaying it would go back in time.
  await writeFile(join(dir, 'observed.3.log'), `${JSON.stringify({ c: 'reported', k: 'dev-0', v: report(6) })}\n`);
  const loaded = await make().read();
  t.is(loaded?.reported['dev-0']?.observedGeneration, 7);
  t.false((await readdir(dir)).includes('observed.3.log'));
});

test('journal keys such as __proto__ are records like any other: skipped as malformed, nothing polluted, the store loads', async (t) => {
  const { dir, warnings, make } = await opened(t);
  await writeFile(join(dir, 'observed.json'), JSON.stringify({ journal: 1, ...fleet(1) }));
  await writeFile(join(dir, 'observed.1.log'), ['{"c":"reported","k":"__proto__","v":{"polluted":true}}', '{"c":"constructor","k":"x","v":1}', `{"c":"reported","k":"dev-5","v":${JSON.stringify(report(3))}}`, ''].join('\n'));
  const loaded = await make().read();
  t.is(({} as Record<string, unknown>)['polluted'], undefined);
  t.is(Object.getPrototypeOf(loaded?.reported ?? {}), null);
  t.deepEqual(Object.keys(loaded?.reported ?? {}).sort(), ['dev-0']);
  t.regex(warnings.join('\n'), /line 2 is not a journal entry/);
});
