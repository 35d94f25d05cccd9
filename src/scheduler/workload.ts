// A workload compiled once per placement request: requests summed, selectors turned into
// closures, arch/OS requirements split out so their failures get their own reason text.
import type { Peripheral, Toleration, WorkloadSpec } from '../protocol/index.js';
import { wellKnownLabels, wellKnownTaints } from '../protocol/index.js';
import type { Requirement } from './labels.js';
import { selectorRequirements, termRequirements } from './labels.js';
import type { IndexedRequirement, LabelIndex } from './label-index.js';
import { indexRequirement } from './label-index.js';
import { hostPortKey } from './device.js';
import { tolerationMatches } from './tolerations.js';
import { normalizeImage } from './scores/image-locality.js';
import type { SpreadConstraint } from './scores/spread-constraints.js';
import { effectiveSpreadConstraints } from './scores/spread-constraints.js';

/**
 * The part of the selector and required affinity that concerns one label key. The device is
 * ruled out by that key alone when a selector requirement on it fails, or when every required
 * affinity term contains a failing requirement on it (no term could match whatever the rest).
 */
export interface KeyScope {
  readonly selector: readonly IndexedRequirement[];
  /** Per required term, its requirements on this key; undefined when there are no terms. */
  readonly terms: readonly (readonly IndexedRequirement[])[] | undefined;
}

export interface PreferredTerm {
  readonly weight: number;
  readonly matchers: readonly IndexedRequirement[];
}

export interface CompiledWorkload {
  readonly name: string;
  readonly spec: WorkloadSpec;
  readonly runtime: 'container' | 'process';
  /** Normalised image reference, for image locality; undefined for processes. */
  readonly image: string | undefined;
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  /** Always 0 today: the protocol has no disk request yet (see the report). */
  readonly diskBytes: number;
  readonly hostPorts: readonly string[];
  readonly deviceResources: readonly (readonly [string, number])[];
  /** Most specific first, so that greedy allocation does not waste a model-specific MCU. */
  readonly peripherals: readonly Peripheral[];
  readonly arch: KeyScope;
  readonly os: KeyScope;
  /** Selector requirements other than arch/os. */
  readonly selector: readonly IndexedRequirement[];
  readonly required: readonly (readonly IndexedRequirement[])[];
  readonly preferred: readonly PreferredTerm[];
  readonly tolerations: readonly Toleration[];
  /** Tolerating the unschedulable taint lets a workload onto a cordoned device (NodeUnschedulable plugin). */
  readonly toleratesCordon: boolean;
  readonly scoring: WorkloadSpec['scoring'];
  readonly spread: readonly SpreadConstraint[];
}

function keyScope(
  key: string,
  selector: readonly Requirement[],
  terms: readonly (readonly Requirement[])[],
  index: (r: Requirement) => IndexedRequirement,
): KeyScope {
  return {
    selector: selector.filter((r) => r.key === key).map(index),
    terms: terms.length === 0 ? undefined : terms.map((t) => t.filter((r) => r.key === key).map(index)),
  };
}

function peripheralOrder(p: Peripheral): number {
  if (p.kind === 'mcu') return p.mcu === undefined ? 1 : 0;
  return 2;
}

/** Compiled against a fleet's label index: the requirements are evaluated by device index. */
export function compileWorkload(name: string, spec: WorkloadSpec, labels: LabelIndex): CompiledWorkload {
  const index = (r: Requirement): IndexedRequirement => indexRequirement(r, labels);
  const template = spec.template;
  const selector = selectorRequirements(spec.selector);
  const terms = spec.affinity.required.map(termRequirements);
  const split = new Set<string>([wellKnownLabels.arch, wellKnownLabels.os]);
  const hostPorts: string[] = [];
  for (const p of template.ports) if (p.hostPort !== undefined) hostPorts.push(hostPortKey({ port: p.hostPort, protocol: p.protocol }));
  const cordonTaint = { key: wellKnownTaints.unschedulable, value: '', effect: 'NoSchedule' as const, addedAtMs: undefined };
  return {
    name,
    spec,
    runtime: template.runtime,
    image: template.runtime === 'container' ? normalizeImage(template.image) : undefined,
    cpuMillis: template.resources.requests.cpuMillis ?? 0,
    memoryBytes: template.resources.requests.memoryBytes ?? 0,
    diskBytes: 0,
    hostPorts,
    deviceResources: Object.entries(template.resources.devices).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    peripherals: [...template.peripherals].sort((a, b) => peripheralOrder(a) - peripheralOrder(b)),
    arch: keyScope(wellKnownLabels.arch, selector, terms, index),
    os: keyScope(wellKnownLabels.os, selector, terms, index),
    selector: selector.filter((r) => !split.has(r.key)).map(index),
    required: terms.map((t) => t.map(index)),
    preferred: spec.affinity.preferred.map((p) => ({ weight: p.weight, matchers: termRequirements(p.preference).map(index) })),
    tolerations: spec.tolerations,
    toleratesCordon: spec.tolerations.some((t) => tolerationMatches(t, cordonTaint)),
    scoring: spec.scoring,
    spread: effectiveSpreadConstraints(spec),
  };
}
