import { Command } from 'commander';
import * as z from 'zod';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';

const deletedSchema = z.object({ kind: z.string(), name: z.string(), action: z.literal('deleted') });

/** Resource words (and their short forms) → API collection and the kind's spelling in output. */
const deletable: Record<string, { path: string; kind: string }> = {
  workload: { path: 'workloads', kind: 'workload' },
  workloads: { path: 'workloads', kind: 'workload' },
  wl: { path: 'workloads', kind: 'workload' },
  device: { path: 'devices', kind: 'device' },
  devices: { path: 'devices', kind: 'device' },
  dev: { path: 'devices', kind: 'device' },
  job: { path: 'jobs', kind: 'job' },
  jobs: { path: 'jobs', kind: 'job' },
  cronjob: { path: 'cronjobs', kind: 'cronjob' },
  cronjobs: { path: 'cronjobs', kind: 'cronjob' },
  cj: { path: 'cronjobs', kind: 'cronjob' },
  service: { path: 'services', kind: 'service' },
  services: { path: 'services', kind: 'service' },
  svc: { path: 'services', kind: 'service' },
  configmap: { path: 'configmaps', kind: 'configmap' },
  configmaps: { path: 'configmaps', kind: 'configmap' },
  cm: { path: 'configmaps', kind: 'configmap' },
  secret: { path: 'secrets', kind: 'secret' },
  secrets: { path: 'secrets', kind: 'secret' },
};
/** What a manifest's kind deletes (`delete -f`). */
const kindPaths: Record<string, { path: string; kind: string }> = {
  Workload: { path: 'workloads', kind: 'workload' },
  Job: { path: 'jobs', kind: 'job' },
  CronJob: { path: 'cronjobs', kind: 'cronjob' },
  Service: { path: 'services', kind: 'service' },
  ConfigMap: { path: 'configmaps', kind: 'configmap' },
  Secret: { path: 'secrets', kind: 'secret' },
};

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete workloads (their instances stop on every device), jobs, cronjobs, services (the proxies on their users close), or devices (they must join again to come back)')
    .argument('[resource]', 'workload | job | cronjob | service | device')
    .argument('[names...]', 'names, or ids of the devices')
    .option('-f, --filename <path...>', 'delete what these manifests describe')
    .addHelpText(
      'after',
      `
Deleting a device removes its record, desired and reported state and events, closes its broker
session and revokes its credential (it cannot connect again until it joins with a new token);
its replicas are placed on other devices.

Examples:
  edgepilot delete workload tilt-reader
  edgepilot delete cronjob nightly-backup
  edgepilot delete -f tilt-reader.yaml
  edgepilot delete device rk3588-line2-4k7qz`,
    )
    .action(async (resource: string | undefined, names: string[], options: { filename?: string[] }, command: Command) => {
      let targets: { name: string; path: string; kind: string }[];
      if (options.filename) {
        const manifests = await loadManifests(options.filename, readStdin);
        targets = manifests.map((m) => {
          const doc = m.value as { kind?: string; metadata: { name: string } };
          const what = Object.hasOwn(kindPaths, doc.kind ?? 'Workload') ? kindPaths[doc.kind ?? 'Workload'] : undefined;
          if (!what) throw new CliError(`${m.source}:${m.line}: kind ${JSON.stringify(doc.kind)} cannot be deleted by manifest`);
          return { name: doc.metadata.name, ...what };
        });
      } else {
        const what = resource !== undefined && Object.hasOwn(deletable, resource) ? deletable[resource] : undefined;
        if (!what) {
          throw new CliError(
            resource
              ? `cannot delete "${resource}": workloads, jobs, cronjobs, configmaps, secrets and devices can be deleted`
              : 'say what to delete: edgepilot delete workload|job|cronjob|configmap|secret <name>, edgepilot delete device <id>, or -f <file>',
          );
        }
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
