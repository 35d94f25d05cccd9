// Issue 14, Services (must-show): two agents in network namespaces of their own (veth pairs to a
// bridge in the root namespace, where the hub listens), each with its own dockerd, so their
// host-network containers live apart like on two boards. A client container on device a reaches
// the `echo` service by name through a's proxy; a's own server is preferred; when it is killed,
// traffic moves to b's; with the hub stopped (and a's agent restarted), the kept endpoints serve; a
// restarted hub sends the document again to an agent that lost its kept list.
import test from 'ava';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { listSchema, serviceViewSchema } from '../../src/protocol/index.js';
import { runCli, spawnEdgepilot, type ManagedProcess } from '../support/processes.js';
import { isolatedEnv } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { TestNetwork, type NetnsHost } from '../support/netns.js';
import { waitFor } from '../support/wait.js';
import { rm, writeFile } from 'node:fs/promises';

const exec = promisify(execFile);

const ctx = {} as {
  dir: string;
  net: TestNetwork;
  hub: ManagedProcess;
  cli(args: string[]): ReturnType<typeof runCli>;
  hosts: Record<'a' | 'b', NetnsHost>;
  agents: Record<'a' | 'b', ManagedProcess>;
  procs: ManagedProcess[];
  apiUrl: string;
  ports: { api: string; mqtt: string };
  lastAskError?: string;
};

const server = (name: 'a' | 'b'): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: server-${name}
  labels: { app: echo }
spec:
  selector: { matchLabels: { node: ${name} } }
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{ containerPort: 8080 }]
    probes:
      readiness: { tcp: { port: 8080 }, periodSeconds: 1 }
    terminationGracePeriodSeconds: 1
`;

const manifests = `${server('a')}---
${server('b')}---
apiVersion: edgepilot.io/v1
kind: Service
metadata:
  name: echo
spec:
  selector: { matchLabels: { app: echo } }
  ports: [{ port: 18080, targetPort: 8080 }]
  scope: fleet
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: client
spec:
  selector: { matchLabels: { node: a } }
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sleep", "100000"]
    services: [echo]
    terminationGracePeriodSeconds: 1
`;

function dockerIn(host: NetnsHost, ...args: string[]): Promise<string> {
  return exec('docker', ['-H', `unix://${host.dockerSocket ?? ''}`, ...args], { timeout: 30_000 }).then((r) => r.stdout.trim());
}

async function containerOf(host: NetnsHost, workload: string): Promise<string> {
  return waitFor(`a running container of ${workload} in ${host.name}`, async () => (await dockerIn(host, 'ps', '-q', '--filter', `label=io.edgepilot.workload=${workload}`)).split('\n')[0] || undefined, 60_000, 300);
}

/** What the client container reads from http://echo:$ECHO_SERVICE_PORT/ with busybox nc ('' when nothing answered). */
async function askThroughClient(): Promise<string> {
  const client = await containerOf(ctx.hosts.a, 'client');
  return exec('docker', ['-H', `unix://${ctx.hosts.a.dockerSocket ?? ''}`, 'exec', client, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 echo "$ECHO_SERVICE_PORT" | tail -n 1'], { timeout: 30_000 }).then(
    (r) => r.stdout.trim(),
    (err: unknown) => {
      ctx.lastAskError = err instanceof Error ? err.message : String(err);
      return '';
    },
  );
}

function startAgent(name: 'a' | 'b', joinToken?: string): ManagedProcess {
  const args = ['agent', '--state-dir', join(ctx.dir, `agent-${name}`), '--hardware-id', `svc-${ctx.net.tag}-${name}`, '--keepalive', '2', '--hub', ctx.apiUrl, '--advertise-address', ctx.hosts[name].address, '--crash-backoff', '30'];
  if (joinToken) args.push('--join-token', joinToken);
  const proc = ctx.net.spawnInHost(ctx.hosts[name], `agent-${name}`, args, isolatedEnv(ctx.dir));
  ctx.procs.push(proc);
  return proc;
}

test.before(async () => {
  const tmp = await makeTempDir('ep-services-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.net = new TestNetwork(join(ctx.dir, 'net'));
  await ctx.net.create();
  ctx.hosts = { a: await ctx.net.addHost('a'), b: await ctx.net.addHost('b') };
  await Promise.all([ctx.net.startDockerd(ctx.hosts.a), ctx.net.startDockerd(ctx.hosts.b)]);
  // The hub listens only on the bridge: reachable from both namespaces and from here.
  ctx.hub = spawnEdgepilot('hub', ['hub', '--data-dir', join(ctx.dir, 'hub'), '--listen', `${ctx.net.gateway}:0`, '--mqtt-listen', `${ctx.net.gateway}:0`, '--no-write-config', '--insecure'], isolatedEnv(ctx.dir));
  ctx.procs.push(ctx.hub);
  const api = await ctx.hub.waitForOutput(/API listening on [^:]+:(\d+)/);
  const token = (await ctx.hub.waitForOutput(/Admin token[^\n]*\n\s+(ep_\S+)/))[1] ?? '';
  ctx.apiUrl = `http://${ctx.net.gateway}:${api[1] ?? ''}`;
  ctx.ports = { api: api[1] ?? '', mqtt: (await ctx.hub.waitForOutput(/agents use broker mqtts?:\/\/[^:]+:(\d+)/))[1] ?? '' };
  const env = { ...isolatedEnv(ctx.dir), EDGEPILOT_HUB: ctx.apiUrl, EDGEPILOT_TOKEN: token };
  ctx.cli = (args) => runCli(args, env);
  const join1 = async (labels: string): Promise<string> => (await ctx.cli(['token', 'create', '--labels', labels])).stdout.trim();
  ctx.agents = { a: startAgent('a', await join1('node=a,site=s1')), b: startAgent('b', await join1('node=b,site=s1')) };
  await Promise.all([ctx.agents.a.waitForOutput(/running as (\S+)/), ctx.agents.b.waitForOutput(/running as (\S+)/)]);
});

test.afterEach.always(async (t) => {
  if (t.passed) return;
  t.log(`last error of the client's request: ${ctx.lastAskError ?? '(none)'}`);
  const client = await dockerIn(ctx.hosts.a, 'ps', '-q', '--filter', 'label=io.edgepilot.workload=client').catch(() => '');
  if (client) {
    const get = (host: string, port: string): string => `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 ${host} ${port} 2>&1 | tail -n 1; echo "(${host}:${port} rc=$?)"`;
    const probe = ['env | grep ECHO', 'grep echo /etc/hosts', get('echo', '18080'), get('127.0.0.1', '18080'), get(ctx.hosts.a.address, '8080'), get(ctx.hosts.b.address, '8080')].join('; ');
    t.log(await exec('docker', ['-H', `unix://${ctx.hosts.a.dockerSocket ?? ''}`, 'exec', client.split('\n')[0] ?? '', 'sh', '-c', probe]).then((r) => r.stdout + r.stderr, (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`));
  }
  for (const p of ctx.procs) t.log(`${p.name} output:\n${p.output.split('\n').filter((l) => !l.includes(' DEBUG ')).slice(-25).join('\n')}`);
});

test.after.always(async () => {
  await Promise.all((ctx.procs ?? []).map((p) => p.kill('SIGKILL')));
  await ctx.net?.cleanup();
});

test.serial('the client reaches the service by name through its proxy, its own device first', async (t) => {
  await writeFile(join(ctx.dir, 'echo.yaml'), manifests);
  const applied = await ctx.cli(['apply', '-f', join(ctx.dir, 'echo.yaml')]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /service\/echo created/i);
  await waitFor('both servers to be endpoints', async () => {
    const list = await ctx.cli(['get', 'services', '-o', 'json']);
    const echo = listSchema(serviceViewSchema).parse(JSON.parse(list.stdout)).items.find((s) => s.name === 'echo');
    return echo?.endpoints.length === 2 && echo.usedBy.length === 1;
  }, 90_000, 500);
  const answer = await waitFor('the client to read a', async () => ((await askThroughClient()) === 'a' ? 'a' : undefined), 30_000, 300);
  t.is(answer, 'a');
  const client = await containerOf(ctx.hosts.a, 'client');
  t.regex(await dockerIn(ctx.hosts.a, 'exec', client, 'sh', '-c', 'echo $ECHO_SERVICE_HOST:$ECHO_SERVICE_PORT; grep echo /etc/hosts'), /127\.0\.0\.1:18080\n127\.0\.0\.1\s+echo/);
  const described = await ctx.cli(['describe', 'service', 'echo']);
  t.regex(described.stdout, new RegExp(`${ctx.hosts.b.address.replace(/\./g, '\\.')}:8080`));
});

test.serial('the local server is killed: traffic moves to the other device', async (t) => {
  await dockerIn(ctx.hosts.a, 'kill', await containerOf(ctx.hosts.a, 'server-a'));
  const answer = await waitFor('the client to read b', async () => ((await askThroughClient()) === 'b' ? 'b' : undefined), 30_000, 300);
  t.is(answer, 'b');
});

test.serial('with the hub stopped and the agent restarted, the kept endpoints still serve', async (t) => {
  await ctx.hub.kill('SIGKILL');
  await ctx.agents.a.kill('SIGTERM');
  ctx.agents.a = startAgent('a');
  // Its proxy opens from the kept document (b's endpoint, and a's if it was ready again) before any hub answers.
  await ctx.agents.a.waitForOutput(/service echo: listening on 127\.0\.0\.1:18080 \([12] endpoints\)/);
  const answer = await waitFor('the client to read an answer', async () => {
    const text = await askThroughClient();
    return text === 'a' || text === 'b' ? text : undefined;
  }, 30_000, 300);
  t.true(answer === 'a' || answer === 'b');
});

test.serial('a restarted hub sends the services document again: an agent that lost its kept list gets it back', async (t) => {
  // The hub of the last test was SIGKILLed; its embedded broker's retained messages went with it.
  ctx.hub = spawnEdgepilot('hub', ['hub', '--data-dir', join(ctx.dir, 'hub'), '--listen', `${ctx.net.gateway}:${ctx.ports.api}`, '--mqtt-listen', `${ctx.net.gateway}:${ctx.ports.mqtt}`, '--no-write-config', '--insecure'], isolatedEnv(ctx.dir));
  ctx.procs.push(ctx.hub);
  await ctx.hub.waitForOutput(/API listening on/);
  await ctx.agents.a.kill('SIGTERM');
  await rm(join(ctx.dir, 'agent-a', 'services.json'), { force: true });
  ctx.agents.a = startAgent('a');
  // Nothing kept: only the document the restarted hub publishes opens the proxy.
  await ctx.agents.a.waitForOutput(/service echo: listening on 127\.0\.0\.1:18080 \([12] endpoints\)/, 90_000);
  const answer = await waitFor('the client to read an answer', async () => {
    const text = await askThroughClient();
    return text === 'a' || text === 'b' ? text : undefined;
  }, 30_000, 300);
  t.true(answer === 'a' || answer === 'b');
});
