import { Command } from 'commander';
import { listSchema, mcuViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { mcuColumns } from '../output/mcu-columns.js';
import { parseOutputFormat, renderList } from '../output/format.js';

export function getMcusCommand(): Command {
  return new Command('mcus')
    .aliases(['mcu'])
    .description('List the microcontrollers behind the gateways: model, firmware, status, last telemetry')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .option('--gateway <id>', 'only the MCUs of this gateway')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot get mcus
  edgepilot get mcus -o wide --gateway rk3588-line2-4k7qz
  edgepilot get mcus -o json | jq -r '.items[] | select(.firmwareVersion != "2.0.0") | .id'`,
    )
    .action(async (options: { output?: string; gateway?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/mcus', listSchema(mcuViewSchema));
      const items = options.gateway ? list.items.filter((m) => m.gateway === options.gateway) : list.items;
      print(renderList(items, format, mcuColumns, options.gateway ? `No MCUs on ${options.gateway}.` : 'No MCUs attached to any gateway.'));
    });
}
