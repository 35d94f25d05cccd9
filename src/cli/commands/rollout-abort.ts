import { Command } from 'commander';
import { sendRolloutCommand } from '../rollout-client.js';

export function rolloutAbortCommand(): Command {
  return new Command('abort')
    .description('Stop a rollout for good; devices keep what they run (use undo to put them back)')
    .argument('<name>', 'rollout name')
    .option('--reason <text>', 'why (kept in the history)')
    .option('-o, --output <format>', 'json | yaml: print the rollout as it is afterwards')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout abort tilt-plant3 --reason "wrong release"')
    .action(async (name: string, options: { reason?: string; output?: string }, command: Command) => {
      await sendRolloutCommand(command, name, { type: 'abort', ...(options.reason ? { reason: options.reason } : {}) }, options.output);
    });
}
