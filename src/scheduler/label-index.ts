// Columnar label storage for a compiled fleet: per label key, each device's value as a small
// integer id. A requirement then becomes a verdict table indexed by value id, so checking a
// device is two array reads instead of a hash lookup and a string comparison. The table is
// filled by running the canonical matcher (labels.ts) once per distinct value, so both forms
// have the same semantics by construction.
import type { LabelMap, Requirement } from './labels.js';
import { compileRequirement } from './labels.js';

export interface LabelColumn {
  /** Value id per device; -1 when the device lacks the label. */
  readonly ids: Int32Array;
  readonly values: readonly string[];
}

export class LabelIndex {
  private readonly columns = new Map<string, LabelColumn>();

  constructor(private readonly labels: readonly LabelMap[]) {}

  /** Built on first use of a key and kept for the fleet's lifetime. */
  column(key: string): LabelColumn {
    let col = this.columns.get(key);
    if (col) return col;
    const ids = new Int32Array(this.labels.length);
    const values: string[] = [];
    const idOf = new Map<string, number>();
    for (let i = 0; i < this.labels.length; i++) {
      const v = this.labels[i]?.get(key);
      if (v === undefined) {
        ids[i] = -1;
        continue;
      }
      let id = idOf.get(v);
      if (id === undefined) {
        id = values.length;
        idOf.set(v, id);
        values.push(v);
      }
      ids[i] = id;
    }
    col = { ids, values };
    this.columns.set(key, col);
    return col;
  }
}

export interface IndexedRequirement {
  readonly ids: Int32Array;
  /** 1 where a device with that value id matches. */
  readonly table: Uint8Array;
  /** The verdict for a device without the label (true for NotIn and DoesNotExist). */
  readonly absent: boolean;
}

const noLabels: LabelMap = new Map();

export function indexRequirement(req: Requirement, index: LabelIndex): IndexedRequirement {
  const col = index.column(req.key);
  const matcher = compileRequirement(req);
  const table = new Uint8Array(col.values.length);
  col.values.forEach((v, id) => {
    if (matcher(new Map([[req.key, v]]))) table[id] = 1;
  });
  return { ids: col.ids, table, absent: matcher(noLabels) };
}

export function matchesAt(r: IndexedRequirement, device: number): boolean {
  const id = r.ids[device] as number;
  return id < 0 ? r.absent : r.table[id] === 1;
}

export function matchesAllAt(rs: readonly IndexedRequirement[], device: number): boolean {
  for (const r of rs) if (!matchesAt(r, device)) return false;
  return true;
}

/** nodeSelectorTerms: ORed; an empty list means no constraint. */
export function matchesAnyTermAt(terms: readonly (readonly IndexedRequirement[])[], device: number): boolean {
  if (terms.length === 0) return true;
  for (const t of terms) if (matchesAllAt(t, device)) return true;
  return false;
}
