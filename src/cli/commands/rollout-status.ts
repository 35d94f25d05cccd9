import { Command } from 'commander';
import { print } from '../context.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { renderRolloutStatus, rolloutDone } from '../output/rollout-columns.js';
import { fetchRollout } from '../rollout-client.js';

export function rolloutStatusCommand(): Command {
  return new Command('status')
    .description('Show a rollout: per wave healthy, failed, deferred and pending devices')
    .argument('<name>', 'rollout name')
    .option('-w, --watch', 'keep showing it until the rollout completes, rolls back or is aborted')
    .option('--interval <seconds>', 'seconds between refreshes with --watch', '1')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText(
      'after',
      `
On a terminal each wave gets a bar (█ healthy, ✗ failed, ~ deferred, ▒ installing, · pending);
piped, one plain line per wave. Then a line per device that failed, was rolled back, is deferred
or waits for its window, saying why (at most 10; -o json has every device). With --watch, the
status is printed again whenever something changed.

Examples:
  edgepilot rollout status tilt-plant3
  edgepilot rollout status tilt-plant3 --watch
  edgepilot rollout status tilt-plant3 -o json`,
    )
    .action(async (name: string, options: { watch?: boolean; interval: string; output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const structured = format === 'json' || format === 'yaml';
      const tty = process.stdout.isTTY === true;
      const intervalMs = Math.max(0.2, Number(options.interval) || 1) * 1000;
      let last = '';
      for (;;) {
        const view = await fetchRollout(command, name);
        const text = structured ? renderObject(view, format) : renderRolloutStatus(view, tty);
        if (text !== last) {
          // On a terminal the block is redrawn in place; piped, each change is appended.
          if (options.watch && tty && last !== '') process.stdout.write(`\u001b[${last.split('\n').length}A\u001b[J`);
          print(text);
          last = text;
        }
        if (!options.watch || rolloutDone(view)) return;
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
}
