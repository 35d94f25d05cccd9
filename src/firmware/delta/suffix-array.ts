/**
 * Suffix array of a byte string by prefix doubling (Manber–Myers) with counting sorts:
 * O(n log n), no recursion, typed arrays only. Images are at most a few hundred KB, where
 * this takes milliseconds; long runs of one byte (erased flash) only add rounds.
 */
export function suffixArray(data: Uint8Array): Int32Array {
  const n = data.length;
  const sa = new Int32Array(n);
  if (n === 0) return sa;
  let rank = new Int32Array(n);
  let next = new Int32Array(n);
  const byKey2 = new Int32Array(n);
  const counts = new Int32Array(Math.max(256, n) + 1);

  // Round 0: order by the first byte.
  for (let i = 0; i < n; i++) counts[data[i] as number] = (counts[data[i] as number] ?? 0) + 1;
  prefixSums(counts, 256);
  for (let i = n - 1; i >= 0; i--) {
    const c = data[i] as number;
    counts[c] = (counts[c] as number) - 1;
    sa[counts[c] as number] = i;
  }
  let classes = 0;
  for (let j = 0; j < n; j++) {
    const i = sa[j] as number;
    if (j > 0 && data[i] !== data[sa[j - 1] as number]) classes++;
    rank[i] = classes;
  }
  classes++;

  for (let k = 1; classes < n; k <<= 1) {
    // Order by the second key (rank of the suffix k further on; "ended" sorts first)...
    let m = 0;
    for (let i = n - k; i < n; i++) byKey2[m++] = i;
    for (let j = 0; j < n; j++) {
      const i = sa[j] as number;
      if (i >= k) byKey2[m++] = i - k;
    }
    // ...then stably by the first key.
    counts.fill(0, 0, classes + 1);
    for (let i = 0; i < n; i++) counts[rank[i] as number] = (counts[rank[i] as number] as number) + 1;
    prefixSums(counts, classes);
    for (let j = n - 1; j >= 0; j--) {
      const i = byKey2[j] as number;
      const r = rank[i] as number;
      counts[r] = (counts[r] as number) - 1;
      sa[counts[r] as number] = i;
    }
    let c = 0;
    next[sa[0] as number] = 0;
    for (let j = 1; j < n; j++) {
      const a = sa[j - 1] as number;
      const b = sa[j] as number;
      const a2 = a + k < n ? (rank[a + k] as number) : -1;
      const b2 = b + k < n ? (rank[b + k] as number) : -1;
      if (rank[a] !== rank[b] || a2 !== b2) c++;
      next[b] = c;
    }
    [rank, next] = [next, rank];
    classes = c + 1;
  }
  return sa;
}

/** counts[0..size) becomes the start index of each bucket's end (exclusive), as counting sort needs. */
function prefixSums(counts: Int32Array, size: number): void {
  let sum = 0;
  for (let i = 0; i < size; i++) {
    sum += counts[i] as number;
    counts[i] = sum;
  }
}
