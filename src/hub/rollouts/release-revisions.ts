import type { ReleaseRecord } from '../../protocol/index.js';
import { templateRevision } from '../workloads/revision.js';

/**
 * The revision of each of a release's workload templates. Releases are immutable (the digest
 * names the content), so they are hashed once per release, not once per device on every
 * rollout step and desired-state pass (10,000 hashes each at fleet scale).
 */
const revisionsByDigest = new Map<string, ReadonlyMap<string, string>>();
const MAX_CACHED_RELEASES = 64;

export function releaseRevisions(release: ReleaseRecord): ReadonlyMap<string, string> {
  let revisions = revisionsByDigest.get(release.digest);
  if (revisions === undefined) {
    if (revisionsByDigest.size >= MAX_CACHED_RELEASES) revisionsByDigest.clear();
    revisions = new Map(Object.entries(release.spec.workloads).map(([name, template]) => [name, templateRevision(template)]));
    revisionsByDigest.set(release.digest, revisions);
  }
  return revisions;
}
