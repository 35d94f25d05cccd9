import { Command } from 'commander';
import { deviceViewSchema, listSchema, watchEventSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { deviceColumns } from '../output/device-columns.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { formatRow, streamWidths } from '../output/table.js';
import { CliError } from '../errors.js';

export function getDevicesCommand(): Command {
  return new Command('devices')
    .aliases(['device', 'dev'])
    .description('List registered devices with their status and hardware')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .option('-l, --selector <selector>', 'label selector, e.g. site=plant-3,zone!=b')
    .option('-w, --watch', 'keep running and print changes as they happen')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot get devices
  edgepilot get devices -o wide -l topology.edgepilot.io/zone=line-2
  edgepilot get devices -o json | jq '.items[] | select(.state=="offline") | .id'
  edgepilot get devices --watch`,
    )
    .action(async (options: { output?: string; selector?: string; watch?: boolean }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const query = new URLSearchParams();
      if (options.selector) query.set('selector', options.selector);
      if (!options.watch) {
        const list = await client.request('GET', `/v1/devices?${query}`, listSchema(deviceViewSchema));
        print(renderList(list.items, format, deviceColumns, options.selector ? `No devices match ${options.selector}.` : 'No devices registered yet.'));
        return;
      }
      query.set('watch', 'true');
      const eventSchema = watchEventSchema(deviceViewSchema);
      let headerPrinted = false;
      let widths: number[] | undefined;
      for await (const raw of client.stream(`/v1/devices?${query}`)) {
        const parsed = eventSchema.safeParse(raw);
        if (!parsed.success) throw new CliError('hub sent a malformed watch event');
        const { type, object } = parsed.data;
        if (format === 'json' || format === 'yaml') {
          print(JSON.stringify({ type, object }));
          continue;
        }
        if (format === 'name') {
          print(deviceColumns.name(object));
          continue;
        }
        const wide = format === 'wide';
        const headers = wide ? [...deviceColumns.headers, ...(deviceColumns.wideHeaders ?? [])] : deviceColumns.headers;
        const row = wide ? [...deviceColumns.row(object), ...(deviceColumns.wideRow?.(object) ?? [])] : deviceColumns.row(object);
        widths ??= streamWidths(headers, row);
        if (!headerPrinted) print(formatRow(headers, widths));
        headerPrinted = true;
        print(formatRow(row, widths));
      }
    });
}
