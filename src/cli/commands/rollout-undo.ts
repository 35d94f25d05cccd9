import { Command } from 'commander';
import { sendRolloutCommand } from '../rollout-client.js';

export function rolloutUndoCommand(): Command {
  return new Command('undo')
    .description('Roll a rollout back: every device it touched returns to its previous release, workloads and firmware')
    .argument('<name>', 'rollout name')
    .option('--reason <text>', 'why (kept in the history)')
    .option('-o, --output <format>', 'json | yaml: print the rollout as it is afterwards')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout undo tilt-plant3 --reason "sensor drift on line 1"')
    .action(async (name: string, options: { reason?: string; output?: string }, command: Command) => {
      await sendRolloutCommand(command, name, { type: 'undo', ...(options.reason ? { reason: options.reason } : {}) }, options.output);
    });
}
