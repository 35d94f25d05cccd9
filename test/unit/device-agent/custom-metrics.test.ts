import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { metricsDir, removeMetricsFolder, withMetricsFile } from '../../../src/device-agent/metrics/custom-metrics.js';
import { templateSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const instance = { id: 'web-0', workload: 'web', revision: 'aaaaaaaa', template: templateSchema.parse({ runtime: 'process', command: ['sleep', '1'] }) };

test('the metrics folder is private to the agent (0700), also one an older agent created 0755; it is removed with its instance', async (t) => {
  const dir = await makeTempDir('ep-metrics-');
  t.teardown(() => dir.remove());
  const decorated = await withMetricsFile(instance, dir.path);
  const folder = metricsDir(dir.path, 'web-0');
  t.is(decorated.template.env['EDGEPILOT_METRICS_FILE'], join(folder, 'metrics.json'));
  t.is((await stat(folder)).mode & 0o777, 0o700);
  t.is((await stat(join(dir.path, 'metrics'))).mode & 0o777, 0o700);

  const old = metricsDir(dir.path, 'old-0');
  await mkdir(old, { recursive: true, mode: 0o755 });
  await withMetricsFile({ ...instance, id: 'old-0' }, dir.path);
  t.is((await stat(old)).mode & 0o777, 0o700);

  await writeFile(join(folder, 'metrics.json'), '{"queue_depth": 3}');
  await removeMetricsFolder(dir.path, 'web-0');
  t.false(existsSync(folder));
  await removeMetricsFolder(dir.path, 'web-0');
  t.true(existsSync(old), 'other instances keep theirs');
});
