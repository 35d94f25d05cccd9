import { Command } from 'commander';
import { sendRolloutCommand } from '../rollout-client.js';

export function rolloutPauseCommand(): Command {
  return new Command('pause')
    .description('Pause a rollout: no device gets the release until rollout resume')
    .argument('<name>', 'rollout name')
    .option('--reason <text>', 'why (kept in the history)')
    .option('-o, --output <format>', 'json | yaml: print the rollout as it is afterwards')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout pause tilt-plant3 --reason "line 2 shift change"')
    .action(async (name: string, options: { reason?: string; output?: string }, command: Command) => {
      await sendRolloutCommand(command, name, { type: 'pause', ...(options.reason ? { reason: options.reason } : {}) }, options.output);
    });
}
