import { Command } from 'commander';
import * as z from 'zod';
import { hubClientFor } from '../context.js';
import { CliError } from '../errors.js';
import { parsePositiveInt } from '../parse.js';
import { printJobLogs } from '../job-logs.js';

const lineSchema = z.union([
  z.object({ device: z.string(), instance: z.string(), stream: z.string(), text: z.string() }),
  z.object({ device: z.string(), error: z.string() }),
]);

export function logsCommand(): Command {
  return new Command('logs')
    .description("Print a workload's output from its devices")
    .argument('<workload>', 'workload name, or job/<name> or cronjob/<name> for the output its runs recorded')
    .option('--device <id>', 'only the instance on this device')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <n>', 'lines from the end of each instance', '100')
    .addHelpText(
      'after',
      `
With instances on several devices every line is prefixed with device/instance.

Examples:
  edgepilot logs tilt-reader
  edgepilot logs tilt-reader --device rk3588-line2-4k7qz -f
  edgepilot logs tilt-reader --tail 20
  edgepilot logs job/backup-now --device rk3588-line2-4k7qz`,
    )
    .action(async (workload: string, options: { device?: string; follow?: boolean; tail: string }, command: Command) => {
      if (await printJobLogs(workload, { ...(options.device ? { device: options.device } : {}), tail: options.tail === '0' ? 0 : parsePositiveInt(options.tail, '--tail') }, command)) return;
      const query = new URLSearchParams({ tail: String(options.tail === '0' ? 0 : parsePositiveInt(options.tail, '--tail')), follow: String(options.follow ?? false) });
      if (options.device) query.set('device', options.device);
      const client = await hubClientFor(command);
      let errors = 0;
      const prefix = options.device ? false : undefined;
      const seenDevices = new Set<string>();
      for await (const raw of client.stream(`/v1/workloads/${encodeURIComponent(workload)}/logs?${query}`)) {
        const parsed = lineSchema.safeParse(raw);
        if (!parsed.success) throw new CliError('hub sent a malformed log line');
        const line = parsed.data;
        if ('error' in line) {
          errors += 1;
          process.stderr.write(`error: ${line.error}\n`);
          continue;
        }
        seenDevices.add(line.device);
        const label = prefix === false ? '' : `[${line.device}/${line.instance}] `;
        (line.stream === 'stderr' ? process.stderr : process.stdout).write(`${label}${line.text}\n`);
      }
      if (errors > 0 && seenDevices.size === 0) process.exitCode = 1;
    });
}
