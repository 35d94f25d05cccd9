import { Command } from 'commander';
import * as z from 'zod';
import { hubClientFor, print } from '../context.js';

const resultSchema = z.object({
  results: z.array(z.object({ device: z.string(), ok: z.boolean(), instances: z.array(z.string()).optional(), error: z.string().optional() })),
});

export function restartCommand(): Command {
  return new Command('restart')
    .description("Restart a workload's instances (not counted as crashes)")
    .argument('<workload>', 'workload name')
    .option('--device <id>', 'only the instance on this device')
    .addHelpText('after', '\nExamples:\n  edgepilot restart tilt-reader\n  edgepilot restart tilt-reader --device rk3588-line2-4k7qz')
    .action(async (workload: string, options: { device?: string }, command: Command) => {
      const client = await hubClientFor(command);
      const response = await client.request('POST', `/v1/workloads/${encodeURIComponent(workload)}/restart`, resultSchema, options.device ? { device: options.device } : {});
      let failed = 0;
      for (const r of response.results) {
        if (r.ok) print(`${r.device}: restarting ${(r.instances ?? []).join(', ')}`);
        else {
          failed += 1;
          process.stderr.write(`error: ${r.error ?? `${r.device} failed`}\n`);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
}
