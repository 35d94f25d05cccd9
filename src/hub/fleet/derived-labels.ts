import { wellKnownLabels, type Facts, type Labels } from '../../protocol/index.js';

/** Labels the hub keeps in step with a device's facts, like the kubelet's kubernetes.io/arch. */
export function derivedLabels(facts: Facts): Labels {
  const hostname = facts.hostname.toLowerCase().replace(/[^a-z0-9-_.]/g, '-').slice(0, 63).replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return {
    [wellKnownLabels.arch]: facts.arch,
    [wellKnownLabels.os]: facts.os.platform,
    ...(hostname ? { [wellKnownLabels.hostname]: hostname } : {}),
  };
}
