/** Names and labels that tie Docker objects to edgepilot instances. */

export const LABEL_MANAGED = 'io.edgepilot.managed';
export const LABEL_DEVICE = 'io.edgepilot.device';
export const LABEL_INSTANCE = 'io.edgepilot.instance';
export const LABEL_WORKLOAD = 'io.edgepilot.workload';
export const LABEL_REVISION = 'io.edgepilot.revision';
export const LABEL_VOLUME = 'io.edgepilot.volume';

/**
 * `ep-<instance id>-<first 8 of revision>-<device id>`: readable in `docker ps`, unique per
 * revision. The device id is part of it because instance ids are only unique per device (a
 * workload on every device has the same instance id everywhere): agents of several devices
 * sharing one engine — simulated fleets, the container tests — would otherwise fight over names.
 */
export function containerName(id: string, revision: string, deviceId: string): string {
  return `ep-${id}-${revision.slice(0, 8)}-${deviceId}`;
}

/**
 * `ep-<workload>-<volume name>`: keyed by workload, not instance, so the data outlives instance
 * replacement and template updates. Workload names are not constrained by the protocol, so any
 * character Docker refuses in a volume name becomes `_`.
 */
export function volumeName(workload: string, name: string): string {
  return `ep-${workload.replace(/[^a-zA-Z0-9_.-]/g, '_')}-${name}`;
}

/** The label filter that selects what this device's agent owns (and nothing a human started). */
export function ownedLabelFilter(deviceId: string): string[] {
  return [`${LABEL_MANAGED}=true`, `${LABEL_DEVICE}=${deviceId}`];
}

/** Status codes dockerode puts on its errors (`statusCode`), or undefined for other failures. */
export function dockerStatusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('statusCode' in err)) return undefined;
  const code = (err as { statusCode: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}
