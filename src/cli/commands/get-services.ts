import { Command } from 'commander';
import { listSchema, serviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { serviceColumns } from '../output/service-columns.js';

export function getServicesCommand(): Command {
  return new Command('services')
    .aliases(['service', 'svc'])
    .description('List Services: scope, ports, ready endpoints of selected instances, devices that use them')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText(
      'after',
      `
ENDPOINTS is ready/selected: instances of the selected workloads that are ready at their current
revision on an online device with an address, out of all selected instances. USED BY counts the
devices whose instances list the service in template.services: only they are sent its endpoints.

Examples:
  edgepilot get services
  edgepilot get svc -o wide`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/services', listSchema(serviceViewSchema));
      print(renderList(list.items, format, serviceColumns, 'No services. Create one with: edgepilot apply -f service.yaml'));
    });
}
