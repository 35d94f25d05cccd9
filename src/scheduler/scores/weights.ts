// Score weights, all in one place. Values follow kube-scheduler's default profile
// (TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, NodeResourcesFit 1, ImageLocality 1).
export const scoreWeights = {
  topologySpread: 2,
  resources: 1,
  preferredAffinity: 2,
  taintToleration: 3,
  imageLocality: 1,
} as const;

export type ScoreName = keyof typeof scoreWeights;
