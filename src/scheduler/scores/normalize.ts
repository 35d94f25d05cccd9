// Score normalisation as kube-scheduler's framework: every plugin yields an integer 0..100
// (MaxNodeScore), weighted and summed. Integers keep comparisons exact, so ties are real ties
// and are broken by device id rather than by floating-point noise.

export const maxScore = 100;

/** helper.DefaultNormalizeScore: scale so the best device gets 100; `reverse` flips it. */
export function normalizeToMax(raw: number, max: number, reverse: boolean): number {
  if (max === 0) return reverse ? maxScore : 0;
  const scaled = Math.floor((raw * maxScore) / max);
  return reverse ? maxScore - scaled : scaled;
}
