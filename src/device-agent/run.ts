import { createLogger } from '../common/log.js';
import { stopOnSignals } from '../common/signals.js';
import type { AgentConfig } from './config.js';
import { startAgent, type RunningAgent } from './main.js';

export async function runAgentUntilSignal(config: AgentConfig): Promise<void> {
  const log = createLogger('agent', config.logLevel);
  let agent: RunningAgent = await startAgent(config, log);
  let stopping = false;
  // A re-join that made this board a new device (its old one was deleted on the hub): start
  // again under the new identity, kept in the state folder, instead of waiting for a restart.
  const followMoves = (running: RunningAgent): void => {
    void running.movedToDevice.then(async (deviceId) => {
      if (stopping) return;
      log.warn(`restarting as device ${deviceId}`);
      await running.stop();
      if (stopping) return;
      agent = await startAgent(config, log);
      followMoves(agent);
    });
  };
  followMoves(agent);
  stopOnSignals(
    () => {
      stopping = true;
      return agent.stop();
    },
    (line) => log.info(line),
  );
}
