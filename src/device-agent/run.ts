import { createLogger } from '../common/log.js';
import { stopOnSignals } from '../common/signals.js';
import type { AgentConfig } from './config.js';
import { startAgent } from './main.js';

export async function runAgentUntilSignal(config: AgentConfig): Promise<void> {
  const log = createLogger('agent', config.logLevel);
  const agent = await startAgent(config, log);
  stopOnSignals(() => agent.stop(), (line) => log.info(line));
}
