import { Command } from 'commander';
import { sendRolloutCommand } from '../rollout-client.js';

export function rolloutResumeCommand(): Command {
  return new Command('resume')
    .description('Resume a rollout an operator paused (a rollout paused by a decision needs promote, undo or abort)')
    .argument('<name>', 'rollout name')
    .option('-o, --output <format>', 'json | yaml: print the rollout as it is afterwards')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout resume tilt-plant3')
    .action(async (name: string, options: { output?: string }, command: Command) => {
      await sendRolloutCommand(command, name, { type: 'resume' }, options.output);
    });
}
