import { Command } from 'commander';
import { deviceViewSchema, listSchema, workloadViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { parseDuration } from '../parse.js';

export function drainCommand(): Command {
  return new Command('drain')
    .description('Cordon a device and move its replicas: N instances elsewhere, within each workload\'s maxUnavailable')
    .argument('<device>', 'device id')
    .option('--timeout <duration>', 'give up waiting after this long', '5m')
    .option('--no-wait', 'start the drain and return')
    .addHelpText(
      'after',
      `
Instances of replicas: all workloads stay (like DaemonSet pods under kubectl drain).
The device stays cordoned until 'edgepilot uncordon'.

Examples:
  edgepilot drain rk3588-line2-4k7qz
  edgepilot drain rk3588-line2-4k7qz --timeout 15m`,
    )
    .action(async (id: string, options: { timeout: string; wait: boolean }, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/devices/${encodeURIComponent(id)}/drain`, deviceViewSchema, {});
      print(`device/${id} cordoned`);
      if (!options.wait) return;
      const deadline = Date.now() + parseDuration(options.timeout) * 1000;
      let last = -1;
      for (;;) {
        const workloads = await client.request('GET', '/v1/workloads', listSchema(workloadViewSchema));
        const left = workloads.items.filter((w) => w.spec.replicas !== 'all').flatMap((w) => w.status.instances.filter((i) => i.device === id && i.revision === w.revision).map((i) => `${w.name}/${i.id}`));
        if (left.length !== last) print(left.length === 0 ? `device/${id} drained` : `waiting for ${left.length} replica(s) to move: ${left.join(', ')}`);
        if (left.length === 0) return;
        last = left.length;
        if (Date.now() > deadline) throw new CliError(`drain of ${id} not finished after ${options.timeout}: ${left.length} replica(s) left (the drain goes on in the hub)`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
}
