// Label matching, mirroring Kubernetes' NodeSelectorRequirement semantics
// (k8s.io/component-helpers/scheduling/corev1/nodeaffinity).
//
// Arch, OS and hostname: the scheduler derives the well-known labels `edgepilot.io/arch`,
// `edgepilot.io/os` and `edgepilot.io/hostname` from the device's reported facts and lays them
// over the user's labels (facts win: a label cannot claim an arch the board does not have).
// Workloads therefore constrain arch/OS with ordinary selector or affinity expressions, as
// Kubernetes pods do with `kubernetes.io/arch`, and the hub need not copy facts into labels.
import type { Facts, LabelSelector, SelectorOperator, SelectorTerm } from '../protocol/index.js';
import { wellKnownLabels } from '../protocol/index.js';

export type LabelMap = ReadonlyMap<string, string>;
export type LabelMatcher = (labels: LabelMap) => boolean;

/** A requirement in the protocol's shape; matchLabels entries become `In [value]`. */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export function effectiveLabels(labels: Readonly<Record<string, string>>, facts: Facts | undefined): Map<string, string> {
  const out = new Map(Object.entries(labels));
  if (facts) {
    out.set(wellKnownLabels.arch, facts.arch);
    out.set(wellKnownLabels.os, facts.os.platform);
    out.set(wellKnownLabels.hostname, facts.hostname);
  }
  return out;
}

export function selectorRequirements(selector: LabelSelector): Requirement[] {
  const out: Requirement[] = Object.entries(selector.matchLabels).map(([key, value]) => ({ key, operator: 'In' as const, values: [value] }));
  return out.concat(selector.matchExpressions);
}

export function termRequirements(term: SelectorTerm): Requirement[] {
  return term.matchExpressions;
}

const integerPattern = /^-?\d+$/;

/** One requirement as a closure: compiled once per workload, run once per device. */
export function compileRequirement(req: Requirement): LabelMatcher {
  const { key, values } = req;
  switch (req.operator) {
    case 'In': {
      if (values.length === 1) {
        const only = values[0];
        return (labels) => labels.get(key) === only;
      }
      const set = new Set(values);
      return (labels) => {
        const v = labels.get(key);
        return v !== undefined && set.has(v);
      };
    }
    case 'NotIn': {
      // Kubernetes: NotIn also matches when the label is absent.
      const set = new Set(values);
      return (labels) => {
        const v = labels.get(key);
        return v === undefined || !set.has(v);
      };
    }
    case 'Exists':
      return (labels) => labels.has(key);
    case 'DoesNotExist':
      return (labels) => !labels.has(key);
    case 'Gt':
    case 'Lt': {
      // Kubernetes: both sides must parse as integers, otherwise the requirement does not match.
      const bound = integerPattern.test(values[0] ?? '') ? Number.parseInt(values[0] ?? '', 10) : Number.NaN;
      const greater = req.operator === 'Gt';
      return (labels) => {
        const v = labels.get(key);
        if (v === undefined || !integerPattern.test(v) || Number.isNaN(bound)) return false;
        const n = Number.parseInt(v, 10);
        return greater ? n > bound : n < bound;
      };
    }
  }
}
