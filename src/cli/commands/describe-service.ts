import { Command } from 'commander';
import { formatSelector, serviceViewSchema, type ServiceView } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { indent, renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { formatAge } from '../output/human.js';
import { portsText } from '../output/service-columns.js';
import { renderTable } from '../output/table.js';

function describeService(s: ServiceView): string {
  const entries: DescribeEntry[] = [
    ['Name', s.name],
    ['Created', `${s.createdAt} (${formatAge(s.createdAt)} ago)`],
    ['Selector', formatSelector(s.spec.selector)],
    ['Scope', s.spec.scope === 'site' ? `site (devices sharing label ${s.spec.siteLabel})` : s.spec.scope],
    ['Ports', portsText(s)],
    ['Used by', s.usedBy.length ? s.usedBy.join(', ') : '<no device uses it>'],
  ];
  const endpoints = s.endpoints.length === 0 ? '  <none>' : indent(renderTable(['DEVICE', 'INSTANCE', 'ADDRESS'], s.endpoints.map((e) => [e.deviceId, e.instance, e.ports.map((p) => `${e.host}:${p.port}`).join(',')])));
  const notReady = s.notReady.length === 0 ? '  <none>' : indent(renderTable(['DEVICE', 'INSTANCE', 'WHY'], s.notReady.map((n) => [n.deviceId, n.instance, n.reason])));
  const events = !s.events?.length ? '  <none>' : indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], s.events.slice(-20).map((e) => [formatAge(e.time), e.type, e.reason, e.message])));
  return [renderDescribe(entries), 'Endpoints:', endpoints, 'Not endpoints:', notReady, 'Events:', events].join('\n');
}

export function describeServiceCommand(): Command {
  return new Command('service')
    .aliases(['svc'])
    .description('Show a Service: selector, scope, ports, its endpoints, selected instances that are not endpoints and why, devices that use it, events')
    .argument('<name>', 'service name')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', '\nExamples:\n  edgepilot describe service tilt-api\n  edgepilot describe svc tilt-api -o yaml')
    .action(async (name: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      if (format === 'name' || format === 'wide') throw new CliError(`-o ${format} is not available for describe (use json or yaml)`);
      const client = await hubClientFor(command);
      const service = await client.request('GET', `/v1/services/${encodeURIComponent(name)}`, serviceViewSchema);
      print(format === 'table' ? describeService(service) : renderObject(service, format));
    });
}
