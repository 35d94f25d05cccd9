import { Command } from 'commander';
import { CliError } from '../errors.js';
import { sendRolloutCommand } from '../rollout-client.js';

export function rolloutPromoteCommand(): Command {
  return new Command('promote')
    .description('Start the next wave of a rollout waiting for promotion (or accept an inconclusive or failed wave)')
    .argument('<name>', 'rollout name')
    .option('--skip-gate', 'start later waves without a HIL gate pass for this release (recorded in the history)')
    .option('--reason <text>', 'why the gate is skipped (required with --skip-gate)')
    .option('-o, --output <format>', 'json | yaml: print the rollout as it is afterwards')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout promote tilt-plant3\n  edgepilot rollout promote tilt-plant3 --skip-gate --reason "bench down; release verified by hand"')
    .action(async (name: string, options: { skipGate?: boolean; reason?: string; output?: string }, command: Command) => {
      if (options.skipGate && !options.reason) throw new CliError('--skip-gate needs --reason "<why>" (it is recorded in the rollout history)');
      await sendRolloutCommand(command, name, { type: 'promote', ...(options.skipGate ? { skipGate: { reason: options.reason ?? '' } } : {}) }, options.output);
    });
}
