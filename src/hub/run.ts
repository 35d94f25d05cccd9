import { createLogger } from '../common/log.js';
import { stopOnSignals } from '../common/signals.js';
import type { HubConfig } from './config.js';
import { startHub, type RunningHub } from './main.js';

/** `edgepilot hub`: start, announce a new admin token once, stop cleanly on SIGINT/SIGTERM. */
export async function runHubUntilSignal(config: HubConfig): Promise<RunningHub> {
  const log = createLogger('hub', config.logLevel);
  const hub = await startHub(config, log);
  // One line on stdout whatever the log level, for scripts and supervisors.
  process.stdout.write(`hub ready: API ${hub.apiUrl}${hub.caFingerprint ? ` CA sha256 ${hub.caFingerprint}` : ''}\n`);
  if (hub.createdAdminToken) {
    process.stdout.write(
      `\nAdmin token (shown once, keep it safe):\n  ${hub.createdAdminToken}\n` +
        (config.cliConfigPath ? `The CLI config ${config.cliConfigPath} holds it too, unless that file already existed.\n\n` : '\n'),
    );
  }
  stopOnSignals(() => hub.close(), (line) => log.info(line));
  return hub;
}
