// A digest that vouches for a store file written by this hub. Checking every record of a
// 10,000-device store with the zod schemas took 3 s of a restarted hub's start-up (the control
// document's shards 2.1 s, observed.json 1.1 s), while the records in those files were written
// by the hub itself a moment before. Each shard file and each observed snapshot now carries the
// SHA-256 of its text (about 20 ms per 10 MB); at load a file whose text still matches is taken
// as written, and only files that do not match (edited by hand, damaged, written by another
// release or by a hub from before the digests) have their records checked one by one.
import { createHash } from 'node:crypto';
import { AGENT_AND_HUB_VERSION } from '../../common/version.js';

/**
 * Which checks a digest vouches for. Part of every digest, so a hub of another release (whose
 * checks may be stricter) checks every record again once; raise the suffix when a record check
 * becomes stricter within a release.
 */
export const CHECKED_BY = `${AGENT_AND_HUB_VERSION}+records-1`;

export function checkedDigest(text: string): string {
  return createHash('sha256').update(CHECKED_BY).update('\n').update(text).digest('hex');
}

/** Records checked one by one (at load and on the way in), and records a digest vouched for at load (tests count these). */
export const loadChecks = { vouched: 0, checked: 0 };
