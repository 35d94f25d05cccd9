import { Command } from 'commander';
import { print } from '../context.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { fetchRollout } from '../rollout-client.js';

export function rolloutHistoryCommand(): Command {
  return new Command('history')
    .description("Show a rollout's decisions: waves started and judged, pauses, gate verdicts, overrides, rollbacks")
    .argument('<name>', 'rollout name')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', '\nExamples:\n  edgepilot rollout history tilt-plant3')
    .action(async (name: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const view = await fetchRollout(command, name);
      if (format === 'json' || format === 'yaml') return print(renderObject({ kind: 'List', items: view.history }, format));
      print(renderTable(['TIME', 'WHAT', 'WAVE', 'BY', 'MESSAGE'], view.history.map((h) => [h.at, h.type, h.wave === undefined ? '-' : String(h.wave), h.actor ?? '-', h.message])));
    });
}
