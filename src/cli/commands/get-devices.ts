import { Command } from 'commander';
import { deviceViewSchema, listSchema, watchEventSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { deviceColumns } from '../output/device-columns.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { WatchPrinter } from '../output/watch.js';
import { CliError } from '../errors.js';

export function getDevicesCommand(): Command {
  return new Command('devices')
    .aliases(['device', 'dev'])
    .description('List registered devices with their status and hardware')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .option('-l, --selector <selector>', 'label selector, e.g. site=plant-3,zone!=b')
    .option('-w, --watch', 'print the list as without --watch, then keep running and print a row per change')
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
      const emptyMessage = options.selector ? `No devices match ${options.selector}.` : 'No devices registered yet.';
      const list = await client.request('GET', `/v1/devices?${query}`, listSchema(deviceViewSchema));
      if (!options.watch) {
        print(renderList(list.items, format, deviceColumns, emptyMessage));
        return;
      }
      // The watch opens with this same list, printed exactly as `get devices` prints it.
      const printer = new WatchPrinter(deviceColumns, format, (d) => d.id, print);
      printer.list(list.items, emptyMessage);
      query.set('watch', 'true');
      const eventSchema = watchEventSchema(deviceViewSchema);
      for await (const raw of client.stream(`/v1/devices?${query}`)) {
        const parsed = eventSchema.safeParse(raw);
        if (parsed.success) {
          printer.event(parsed.data.type, parsed.data.object);
          continue;
        }
        // The hub names a deleted device by its id alone.
        const deleted = raw as { type?: unknown; object?: { id?: unknown } };
        if (deleted.type === 'DELETED' && typeof deleted.object?.id === 'string') printer.deleted(deleted.object.id);
        else throw new CliError('hub sent a malformed watch event');
      }
    });
}
