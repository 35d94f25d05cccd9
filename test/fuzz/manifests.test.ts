import test from 'ava';
import fc from 'fast-check';
import { recordProblem } from '../../src/hub/store/record-check.js';
import type { DeviceRecord, WorkloadRecord } from '../../src/hub/store/records.js';
import { ManifestError, parseManifests, recordFor } from '../../src/hub/workloads/manifests.js';
import { runPlacementPass } from '../../src/hub/workloads/placement-pass.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { fuzzRuns, fuzzSeed, manifestArb } from './arbitraries.js';

/**
 * Manifests without the HTTP around them (issue 12): whatever a manifest holds, parsing either
 * accepts it or says why with a ManifestError; what it accepts is a record the store takes and
 * loads again, and a placement pass over such records never throws.
 */
const numRuns = fuzzRuns(1000);

const time = new Date(0).toISOString();
const devices: DeviceRecord[] = ['a', 'b', 'c'].map((zone, i) => ({
  id: `fuzz-${zone}`,
  hardwareId: `hw-fuzz-${zone}`,
  hostname: `fuzz-${zone}`,
  labels: { zone, ...(i === 0 ? { constructor: 'a' } : {}) },
  taints: [],
  unschedulable: false,
  credentialHash: 'x',
  registeredAt: time,
  joinedWithToken: 't',
  status: { state: 'online', reason: 'connected', agentVersion: 'fuzz', bootId: 'b', sessionId: 's', since: time },
  facts: gatewayFacts({ hostname: `fuzz-${zone}` }),
}));

test('random manifests: parsed or refused with a ManifestError; accepted ones store, load again and place', (t) => {
  t.log(`seed ${fuzzSeed} (EDGEPILOT_FUZZ_SEED=${fuzzSeed} reproduces), ${numRuns} runs`);
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(fc.array(manifestArb, { minLength: 1, maxLength: 4 }), (docs) => {
      let records: WorkloadRecord[];
      try {
        records = parseManifests(docs).map((m) => recordFor(m, undefined, time).record);
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        refused += 1;
        return true;
      }
      accepted += 1;
      for (const record of records) {
        const reloaded = JSON.parse(JSON.stringify(record)) as unknown;
        const problem = recordProblem('workloads', record.name, reloaded);
        if (problem !== undefined) throw new Error(`workload ${record.name} would not load again: ${problem}`);
      }
      runPlacementPass({ now: 0, devices, workloads: records, placements: new Map(), published: new Map(), ready: new Set() });
      return true;
    }),
    { seed: fuzzSeed, numRuns },
  );
  t.log(`${accepted + refused} cases: ${accepted} accepted, ${refused} refused`);
  t.true(accepted > 0 && refused > 0, 'both kinds were generated');
});
