import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '../../../src/cli/config.js';
import { makeTempDir } from '../../support/paths.js';

/** A config file at the default place under a temp XDG_CONFIG_HOME. */
async function configHome(t: { teardown(fn: () => Promise<void>): void }, text: string): Promise<{ env: NodeJS.ProcessEnv; file: string }> {
  const dir = await makeTempDir('ep-config-');
  t.teardown(() => dir.remove());
  await mkdir(join(dir.path, 'edgepilot'));
  const file = join(dir.path, 'edgepilot', 'config.yaml');
  await writeFile(file, text);
  return { env: { XDG_CONFIG_HOME: dir.path }, file };
}

const brokenYaml = 'apiVersion: edgepilot.io/v1\nkind: Config\nhub: [http://x:7080\ntoken: abc\n';

test('a broken config file does not block --hub and --token', async (t) => {
  const { env } = await configHome(t, brokenYaml);
  const config = await resolveConfig({ hub: 'http://flag:7080/', token: 'flag-token-0123456789' }, env);
  t.is(config.hubUrl, 'http://flag:7080');
  t.is(config.token, 'flag-token-0123456789');
  t.deepEqual(config.source, { hub: '--hub', token: '--token' });
});

test('a broken config file does not block EDGEPILOT_HUB and EDGEPILOT_TOKEN, nor a mix of flag and env', async (t) => {
  const { env } = await configHome(t, brokenYaml);
  const fromEnv = await resolveConfig({}, { ...env, EDGEPILOT_HUB: 'http://env:7080', EDGEPILOT_TOKEN: 'env-token-0123456789' });
  t.is(fromEnv.hubUrl, 'http://env:7080');
  t.is(fromEnv.token, 'env-token-0123456789');
  const mixed = await resolveConfig({ hub: 'http://flag:1' }, { ...env, EDGEPILOT_TOKEN: 'env-token-0123456789' });
  t.deepEqual(mixed.source, { hub: '--hub', token: 'EDGEPILOT_TOKEN' });
});

test('when the broken file is needed, one line names the file, the line and the problem', async (t) => {
  const { env, file } = await configHome(t, brokenYaml);
  const error = await t.throwsAsync(resolveConfig({ hub: 'http://flag:1' }, env));
  t.regex(error?.message ?? '', new RegExp(`^config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error: \\S`));
  t.false(error?.message.includes('\n'), 'one line');
});

test('a wrong value in the config file: file, line and field', async (t) => {
  const { env, file } = await configHome(t, 'apiVersion: edgepilot.io/v1\nkind: Config\n\nhub: not a url\ntoken: file-token-0123456789\n');
  const error = await t.throwsAsync(resolveConfig({}, env));
  t.true(error?.message.startsWith(`config file ${file}:4: hub: `), error?.message);
});

test('an unknown key in the config file: file, line and key', async (t) => {
  const { env, file } = await configHome(t, 'apiVersion: edgepilot.io/v1\nkind: Config\nhub: http://a:1\ntokn: file-token-0123456789\n');
  const error = await t.throwsAsync(resolveConfig({}, env));
  t.true(error?.message.startsWith(`config file ${file}:4: tokn: `), error?.message);
});

test('flags beat environment beat file', async (t) => {
  const { env, file } = await configHome(t, 'hub: http://from-file:7080\ntoken: file-token-0123456789\n');
  t.is((await resolveConfig({ config: file }, {})).hubUrl, 'http://from-file:7080');
  const fromEnv = await resolveConfig({}, { ...env, EDGEPILOT_HUB: 'http://from-env:7080' });
  t.is(fromEnv.hubUrl, 'http://from-env:7080');
  t.is(fromEnv.token, 'file-token-0123456789');
  const flags = await resolveConfig({ hub: 'http://flag:1', token: 'flag-token' }, { ...env, EDGEPILOT_HUB: 'http://from-env:7080' });
  t.is(flags.hubUrl, 'http://flag:1');
  t.is(flags.token, 'flag-token');
});
