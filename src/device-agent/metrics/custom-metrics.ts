import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredInstance } from '../../protocol/index.js';

/** Where a container sees its metrics folder. */
const CONTAINER_METRICS_DIR = '/run/edgepilot';
const METRICS_VOLUME = 'edgepilot-metrics';
const MAX_METRICS_BYTES = 4096;
const METRICS_DIR_MODE = 0o700;
const METRIC_NAME = /^[a-z][a-z0-9_.]{0,62}$/;

export function metricsDir(stateDir: string, instanceId: string): string {
  return join(stateDir, 'metrics', instanceId);
}

/**
 * Gives an instance a place to report custom metrics (for autoscaling): a folder on the host,
 * mounted at /run/edgepilot in containers, named by EDGEPILOT_METRICS_FILE in both runtimes.
 * The workload writes a JSON object of numbers there, e.g. {"queue_depth": 12}.
 */
export async function withMetricsFile(instance: DesiredInstance, stateDir: string): Promise<DesiredInstance> {
  const dir = metricsDir(stateDir, instance.id);
  // Only the agent (and the instance, which runs as the agent's user or as root in a
  // container) has business here: other users of the board need not read what workloads report.
  // chmod too, for folders an older agent created 0755.
  await mkdir(dir, { recursive: true, mode: METRICS_DIR_MODE });
  await chmod(join(stateDir, 'metrics'), METRICS_DIR_MODE);
  await chmod(dir, METRICS_DIR_MODE);
  const template = structuredClone(instance.template);
  if (template.volumes.some((v) => v.name === METRICS_VOLUME)) return instance;
  template.volumes.push({ name: METRICS_VOLUME, mountPath: CONTAINER_METRICS_DIR, hostPath: dir, readOnly: false });
  template.env['EDGEPILOT_METRICS_FILE'] = template.runtime === 'container' ? `${CONTAINER_METRICS_DIR}/metrics.json` : join(dir, 'metrics.json');
  return { ...instance, template };
}

/** An instance that is no longer desired here leaves no folder behind. */
export async function removeMetricsFolder(stateDir: string, instanceId: string): Promise<void> {
  await rm(metricsDir(stateDir, instanceId), { recursive: true, force: true });
}

/** Reads what the instance last wrote; anything malformed counts as no metrics, never an error. */
export async function readCustomMetrics(stateDir: string, instanceId: string): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(join(metricsDir(stateDir, instanceId), 'metrics.json'), 'utf8');
  } catch {
    return {};
  }
  if (text.length > MAX_METRICS_BYTES) return {};
  try {
    const raw = JSON.parse(text) as unknown;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
    const out: Record<string, number> = {};
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (METRIC_NAME.test(name) && typeof value === 'number' && Number.isFinite(value)) out[name] = value;
    }
    return out;
  } catch {
    return {};
  }
}
