// `edgepilot up`: a hub with its embedded broker and store, plus a local agent in its own
// process (so a crash of one does not take down the other), on one machine.
import { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from './common/agent-node-flags.js';
import { dataHome } from './common/paths.js';
import { createLogger } from './common/log.js';
import { addHubOptions, hubConfigFromFlags, type HubFlags } from './hub/hub-command.js';

function superviseAgent(args: string[], log: ReturnType<typeof createLogger>): { stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  const start = (): void => {
    child = spawn(process.execPath, [...AGENT_NODE_FLAGS, process.argv[1] ?? '', 'agent', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    const startedAt = Date.now();
    child.on('exit', (code, signal) => {
      if (stopping) return;
      restarts = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(1000 * 2 ** restarts, 30_000);
      log.warn(`local agent exited (${signal ?? `code ${code ?? '?'}`}); restarting in ${delay / 1000} s`);
      setTimeout(start, delay).unref();
    });
  };
  start();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (!child || child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The local agent's kept device id and password, if it has joined before (read-only here). */
async function keptIdentity(stateDir: string): Promise<{ deviceId: string; password: string } | undefined> {
  try {
    const kept = JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8')) as { deviceId?: unknown; password?: unknown };
    return typeof kept.deviceId === 'string' && typeof kept.password === 'string' ? { deviceId: kept.deviceId, password: kept.password } : undefined;
  } catch {
    return undefined; // absent or unreadable: the agent itself says what is wrong with it
  }
}

export function upCommand(): Command {
  return addHubOptions(new Command('up').description('Run a hub (embedded broker and store) and a local agent on this machine'))
    .option('--agent-state-dir <dir>', 'state folder of the local agent')
    .addHelpText(
      'after',
      `
Everything a single machine needs; the CLI config is written on first start, so
'edgepilot get devices' works from another terminal right away.

Examples:
  edgepilot up
  edgepilot up --data-dir /tmp/ep --listen 127.0.0.1:7080 --mqtt-listen 127.0.0.1:1883`,
    )
    .action(async (flags: HubFlags & { agentStateDir?: string }) => {
      const config = hubConfigFromFlags(flags);
      const log = createLogger('up', config.logLevel);
      const { runHubUntilSignal } = await import('./hub/run.js');
      const hub = await runHubUntilSignal(config);
      const stateDir = flags.agentStateDir ?? (flags.dataDir ? join(flags.dataDir, 'agent') : join(dataHome(), 'edgepilot', 'agent'));
      const args = ['--hub', hub.apiUrl, '--state-dir', stateDir];
      const kept = await keptIdentity(stateDir);
      const accepted = kept !== undefined && (await hub.acceptsDevice(kept.deviceId, kept.password));
      if (!accepted) {
        // First start, or the hub no longer takes the local agent's credentials (its device was
        // deleted, or its store was reset): a fresh single-use token lets the agent join again,
        // proving its device key, instead of retrying refused credentials forever.
        if (kept) log.warn(`the hub does not accept the local agent's credentials (device ${kept.deviceId}); it joins again with a new token`);
        const token = await hub.tokens.create({ ttlSeconds: 600, labels: { 'edgepilot.io/local': 'true' }, maxUses: 1, description: 'edgepilot up: local agent' });
        args.push('--join-token', token.token);
      }
      if (flags.logLevel) args.push('--log-level', flags.logLevel);
      const agent = superviseAgent(args, log);
      // The hub's own signal handler closes the hub; the agent gets SIGTERM from us first.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.prependListener(signal, () => void agent.stop());
    });
}
