import { Command } from 'commander';
import { z } from 'zod';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';

const deletedSchema = z.object({ kind: z.string(), name: z.string(), action: z.literal('deleted') });

/** Resource words → API collection and the kind's spelling in output. */
const deletable: Record<string, { path: string; kind: string }> = {
  workload: { path: 'workloads', kind: 'workload' },
  workloads: { path: 'workloads', kind: 'workload' },
  wl: { path: 'workloads', kind: 'workload' },
  job: { path: 'jobs', kind: 'job' },
  jobs: { path: 'jobs', kind: 'job' },
  cronjob: { path: 'cronjobs', kind: 'cronjob' },
  cronjobs: { path: 'cronjobs', kind: 'cronjob' },
  cj: { path: 'cronjobs', kind: 'cronjob' },
};
const kindPaths: Record<string, { path: string; kind: string }> = { Workload: deletable['workload']!, Job: deletable['job']!, CronJob: deletable['cronjob']! };

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete workloads (their instances stop on every device), jobs or cronjobs')
    .argument('[resource]', 'workload | job | cronjob')
    .argument('[names...]', 'names')
    .option('-f, --filename <path...>', 'delete what these manifests describe')
    .addHelpText('after', '\nExamples:\n  edgepilot delete workload tilt-reader\n  edgepilot delete cronjob nightly-backup\n  edgepilot delete -f tilt-reader.yaml')
    .action(async (resource: string | undefined, names: string[], options: { filename?: string[] }, command: Command) => {
      let targets: { name: string; path: string; kind: string }[];
      if (options.filename) {
        const manifests = await loadManifests(options.filename, readStdin);
        targets = manifests.map((m) => {
          const doc = m.value as { kind?: string; metadata: { name: string } };
          return { name: doc.metadata.name, ...(kindPaths[doc.kind ?? 'Workload'] ?? deletable['workload']!) };
        });
      } else {
        const what = resource === undefined ? undefined : deletable[resource];
        if (!what) throw new CliError(resource ? `cannot delete "${resource}": workloads, jobs and cronjobs can be deleted` : 'say what to delete: edgepilot delete workload|job|cronjob <name>, or -f <file>');
        targets = names.map((name) => ({ name, ...what }));
      }
      if (targets.length === 0) throw new CliError('no names given');
      const client = await hubClientFor(command);
      for (const t of targets) {
        await client.request('DELETE', `/v1/${t.path}/${encodeURIComponent(t.name)}`, deletedSchema);
        print(`${t.kind}/${t.name} deleted`);
      }
    });
}
