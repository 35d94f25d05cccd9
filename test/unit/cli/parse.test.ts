import test from 'ava';
import { parseDuration, parseLabelAssignments } from '../../../src/cli/parse.js';
import { renderTable } from '../../../src/cli/output/table.js';
import { formatAge, formatBytes } from '../../../src/cli/output/human.js';
import { resolveConfig } from '../../../src/cli/config.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../../support/paths.js';

test('durations', (t) => {
  t.is(parseDuration('90s'), 90);
  t.is(parseDuration('1h30m'), 5400);
  t.is(parseDuration('7d'), 604800);
  t.throws(() => parseDuration('soon'), { message: '"soon" is not a duration (e.g. 30m, 24h, 7d)' });
});

test('label assignments and removals', (t) => {
  t.deepEqual(parseLabelAssignments(['site=a,zone=b', 'old-']), { set: { site: 'a', zone: 'b' }, remove: ['old'] });
  t.throws(() => parseLabelAssignments(['bad value=x']), { message: /invalid label key/ });
  t.throws(() => parseLabelAssignments(['k=has space']), { message: /invalid label value/ });
  t.throws(() => parseLabelAssignments(['novalue']), { message: '"novalue" is not k=v or k-' });
});

test('tables align columns like kubectl', (t) => {
  t.is(renderTable(['ID', 'STATUS'], [['gw-1', 'Online'], ['gateway-22', 'Offline']]), 'ID           STATUS\ngw-1         Online\ngateway-22   Offline');
});

test('human formats', (t) => {
  const now = new Date('2026-11-25T12:00:00Z');
  t.is(formatAge('2026-11-25T11:59:15Z', now), '45s');
  t.is(formatAge('2026-11-25T09:00:00Z', now), '3h');
  t.is(formatAge('2026-11-20T12:00:00Z', now), '5d');
  t.is(formatBytes(16 * 2 ** 30), '16Gi');
  t.is(formatBytes(1536 * 2 ** 20), '1.5Gi');
});

test('config: flags beat environment beat file', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const file = join(dir.path, 'config.yaml');
  await writeFile(file, 'hub: http://from-file:7080\ntoken: file-token-0123456789\n');
  t.deepEqual((await resolveConfig({ config: file }, {})).hubUrl, 'http://from-file:7080');
  const env = await resolveConfig({ config: file }, { EDGEPILOT_HUB: 'http://from-env:7080' });
  t.is(env.hubUrl, 'http://from-env:7080');
  t.is(env.token, 'file-token-0123456789');
  const flags = await resolveConfig({ config: file, hub: 'http://flag:1', token: 'flag-token' }, { EDGEPILOT_HUB: 'http://from-env:7080' });
  t.is(flags.hubUrl, 'http://flag:1');
  t.is(flags.token, 'flag-token');
  await writeFile(file, 'hub: [not, a, url]\n');
  await t.throwsAsync(resolveConfig({ config: file }, {}), { message: /config file .*config\.yaml:1: hub: / });
});
