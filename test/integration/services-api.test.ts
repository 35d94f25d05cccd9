// Services through the CLI and API (issue 14): apply, list, describe, delete; a proxy port taken
// by another service is refused with one line naming the document and field; a Service whose
// name is reserved is refused at the file and line.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSchema, serviceViewSchema } from '../../src/protocol/index.js';
import { startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';

let hub: HubHandle | undefined;
let dir = '';
let remove: (() => Promise<void>) | undefined;

const service = (name: string, port: number, app = name): string => `apiVersion: edgepilot.io/v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { matchLabels: { app: ${app} } }
  ports: [{ name: http, port: ${port}, targetPort: 8080 }]
  scope: site
`;

test.before(async () => {
  const tmp = await makeTempDir('ep-services-api-');
  dir = tmp.path;
  remove = tmp.remove;
  hub = await startHubProcess({ root: dir, dataDir: join(dir, 'hub') });
});

test.after.always(async () => {
  await hub?.proc.kill('SIGKILL');
  await remove?.();
});

async function apply(name: string, text: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!hub) throw new Error('no hub');
  await writeFile(join(dir, name), text);
  return hub.cli(['apply', '-f', join(dir, name)]);
}

test.serial('apply, get, describe and delete a Service', async (t) => {
  if (!hub) throw new Error('no hub');
  const created = await apply('web.yaml', service('web', 18080));
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /service\/web created/i);
  t.regex((await apply('web.yaml', service('web', 18080))).stdout, /service\/web unchanged/i);
  const list = await hub.cli(['get', 'services']);
  t.regex(list.stdout, /NAME\s+SCOPE\s+PORTS\s+ENDPOINTS\s+USED BY\s+AGE/);
  t.regex(list.stdout, /web\s+site\(site\)\s+18080→http:8080\/TCP\s+0\/0\s+0/);
  const json = listSchema(serviceViewSchema).parse(JSON.parse((await hub.cli(['get', 'svc', '-o', 'json'])).stdout));
  t.deepEqual(json.items.map((s) => s.name), ['web']);
  const described = await hub.cli(['describe', 'service', 'web']);
  t.regex(described.stdout, /Used by:\s+<no device uses it>/);
  const deleted = await hub.cli(['delete', 'service', 'web']);
  t.is(deleted.code, 0, deleted.stderr);
  const missing = await hub.cli(['describe', 'service', 'web']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /service web not found/);
});

test.serial('a proxy port already taken by another service is refused, naming document and field; nothing is stored', async (t) => {
  if (!hub) throw new Error('no hub');
  t.is((await apply('db.yaml', service('db', 15432))).code, 0);
  const refused = await apply('api.yaml', `${service('api', 18081)}---\n${service('api2', 15432)}`);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /document 2: spec\.ports\[0\]\.port: 15432 is already the port of service db/);
  t.is(refused.stderr.trim().split('\n').length, 1);
  const names = listSchema(serviceViewSchema).parse(JSON.parse((await hub.cli(['get', 'services', '-o', 'json'])).stdout)).items.map((s) => s.name);
  t.deepEqual(names, ['db'], 'the whole apply was refused');
});

test.serial('the reserved mcu-telemetry name is refused at its file and line', async (t) => {
  const refused = await apply('mcu.yaml', service('mcu-telemetry', 17000));
  t.not(refused.code, 0);
  t.regex(refused.stderr, /mcu\.yaml:\d+: metadata\.name: mcu-telemetry is the gateways' own MCU telemetry service/);
});
