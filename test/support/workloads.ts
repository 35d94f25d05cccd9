import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSchema, workloadViewSchema, type InstanceStatus, type WorkloadView } from '../../src/protocol/index.js';
import type { HubHandle } from './fleet.js';
import { waitFor } from './wait.js';

export async function workloads(hub: HubHandle): Promise<WorkloadView[]> {
  const result = await hub.cli(['get', 'workloads', '-o', 'json']);
  if (result.code !== 0) throw new Error(`get workloads failed: ${result.stderr}`);
  return listSchema(workloadViewSchema).parse(JSON.parse(result.stdout)).items;
}

export async function instancesOf(hub: HubHandle, name: string): Promise<InstanceStatus[]> {
  return (await workloads(hub)).find((w) => w.name === name)?.status.instances ?? [];
}

/** Waits until every instance of `name` satisfies `check` (and there are `count` of them). */
export function waitForInstances(hub: HubHandle, name: string, count: number, check: (i: InstanceStatus) => boolean, what: string, timeoutMs = 60_000): Promise<InstanceStatus[]> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const instances = await instancesOf(hub, name);
      return instances.length === count && instances.every(check) ? instances : undefined;
    },
    timeoutMs,
    300,
  );
}

export async function applyYaml(hub: HubHandle, dir: string, fileName: string, yaml: string): Promise<string> {
  const path = join(dir, fileName);
  await writeFile(path, yaml);
  const result = await hub.cli(['apply', '-f', path]);
  if (result.code !== 0) throw new Error(`apply ${fileName} failed: ${result.stderr}`);
  return result.stdout;
}
