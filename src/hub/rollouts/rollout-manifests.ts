// `POST /v1/apply` for kind Release, Rollout and MaintenanceWindow: checked first (all of them,
// with every problem named), stored only when the whole apply is valid.
import {
  canonicalJson,
  describeIssues,
  formatReleaseRef,
  maintenanceWindowManifestSchema,
  releaseDigest,
  releaseKey,
  releaseManifestSchema,
  rolloutManifestSchema,
  type ApplyResult,
  type MaintenanceWindowManifest,
  type MaintenanceWindowRecord,
  type ReleaseRecord,
  type RolloutSpec,
} from '../../protocol/index.js';
import type { HubStore } from '../store/repository.js';
import type { RolloutRequests } from './rollout-controller.js';

export const ROLLOUT_KINDS: readonly string[] = ['Release', 'Rollout', 'MaintenanceWindow'];

export const isRolloutKind = (doc: unknown): boolean => ROLLOUT_KINDS.includes(String((doc as { kind?: unknown } | null)?.kind));

export interface PreparedRolloutManifests {
  releases: ReleaseRecord[];
  windows: MaintenanceWindowManifest[];
  rollouts: { name: string; spec: RolloutSpec }[];
  problems: string[];
}

/** Checks the documents (numbered as in the request); nothing is stored. */
export async function prepareRolloutManifests(docs: readonly { index: number; doc: unknown }[], store: HubStore, now: string): Promise<PreparedRolloutManifests> {
  const out: PreparedRolloutManifests = { releases: [], windows: [], rollouts: [], problems: [] };
  const seen = new Set<string>();
  for (const { index, doc } of docs) {
    const kind = String((doc as { kind?: unknown }).kind);
    const where = `document ${index + 1} (${kind})`;
    const once = (key: string): boolean => {
      if (seen.has(`${kind}/${key}`)) out.problems.push(`${where}: ${kind} ${key} appears twice`);
      seen.add(`${kind}/${key}`);
      return true;
    };
    if (kind === 'Release') {
      const parsed = releaseManifestSchema.safeParse(doc);
      if (!parsed.success) {
        out.problems.push(`${where}: ${describeIssues(parsed.error.issues)}`);
        continue;
      }
      const m = parsed.data;
      const key = releaseKey(m.metadata.name, m.spec.version);
      once(key);
      const digest = releaseDigest(m);
      const stored = await store.releases.get(m.metadata.name, m.spec.version);
      if (stored !== undefined && stored.digest !== digest) {
        out.problems.push(`${where}: release ${key} exists with other content; releases are immutable: give this one a new spec.version`);
        continue;
      }
      out.releases.push({ name: m.metadata.name, labels: m.metadata.labels, annotations: m.metadata.annotations, spec: m.spec, digest, createdAt: stored?.createdAt ?? now });
    } else if (kind === 'Rollout') {
      const parsed = rolloutManifestSchema.safeParse(doc);
      if (!parsed.success) {
        out.problems.push(`${where}: ${describeIssues(parsed.error.issues)}`);
        continue;
      }
      once(parsed.data.metadata.name);
      out.rollouts.push({ name: parsed.data.metadata.name, spec: parsed.data.spec });
    } else {
      const parsed = maintenanceWindowManifestSchema.safeParse(doc);
      if (!parsed.success) {
        out.problems.push(`${where}: ${describeIssues(parsed.error.issues)}`);
        continue;
      }
      once(parsed.data.metadata.name);
      out.windows.push(parsed.data);
    }
  }
  // What the controller would refuse of a rollout, found now, so nothing of the apply is stored.
  for (const r of out.rollouts) {
    const existing = await store.rollouts.get(r.name);
    if (existing !== undefined && canonicalJson(existing.spec) !== canonicalJson(r.spec)) {
      out.problems.push(`rollout ${r.name} exists with another spec; a rollout cannot change: abort it and start one under a new name`);
    }
    const ref = r.spec.release;
    const inApply = out.releases.some((x) => x.name === ref.name && x.spec.version === ref.version);
    if (!inApply && existing === undefined && (await store.releases.get(ref.name, ref.version)) === undefined) {
      out.problems.push(`rollout ${r.name}: release ${formatReleaseRef(ref)} not found; create it first (edgepilot release create -f) or put it in this apply`);
    }
  }
  return out;
}

/**
 * The releases and windows of what was prepared, as records for the apply's one write (new releases and
 * changed windows only), with their results. Rollouts are created afterwards ({@link createRollouts}):
 * they are the rollout controller's, which checks ownership against the fleet at that moment.
 */
export async function rolloutRecords(
  prepared: PreparedRolloutManifests,
  store: HubStore,
  now: string,
): Promise<{ releases: ReleaseRecord[]; maintenanceWindows: MaintenanceWindowRecord[]; results: ApplyResult['results'] }> {
  const results: ApplyResult['results'] = [];
  const releases: ReleaseRecord[] = [];
  for (const r of prepared.releases) {
    const stored = await store.releases.get(r.name, r.spec.version);
    if (stored === undefined) releases.push(r);
    results.push({ kind: 'Release', name: releaseKey(r.name, r.spec.version), action: stored === undefined ? 'created' : 'unchanged' });
  }
  const maintenanceWindows: MaintenanceWindowRecord[] = [];
  for (const w of prepared.windows) {
    const existing = await store.maintenanceWindows.get(w.metadata.name);
    const same = existing !== undefined && canonicalJson({ l: existing.labels, s: existing.spec }) === canonicalJson({ l: w.metadata.labels, s: w.spec });
    if (!same) maintenanceWindows.push({ name: w.metadata.name, labels: w.metadata.labels, spec: w.spec, createdAt: existing?.createdAt ?? now, updatedAt: now });
    results.push({ kind: 'MaintenanceWindow', name: w.metadata.name, action: same ? 'unchanged' : existing ? 'configured' : 'created' });
  }
  return { releases, maintenanceWindows, results };
}

/** After the apply's write: the rollouts (which may name a release of the same apply); a refusal here throws. */
export async function createRollouts(prepared: PreparedRolloutManifests, rollouts: RolloutRequests, windowsChanged: boolean): Promise<ApplyResult['results']> {
  const results: ApplyResult['results'] = [];
  for (const r of prepared.rollouts) results.push({ kind: 'Rollout', name: r.name, action: await rollouts.create(r.name, r.spec) });
  if (windowsChanged) rollouts.request();
  return results;
}
