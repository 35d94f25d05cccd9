import { createHash, createHmac } from 'node:crypto';
import { boxKeyId, sealBox, type ConfigKind, type DesiredConfig, type DesiredInstance, type Template } from '../../protocol/index.js';
import type { ConfigObjectRecord } from './config-records.js';

export interface ConfigRef {
  kind: ConfigKind;
  name: string;
  /** Read at start only (env, or a mount with onChange: restart): a new version restarts the instance. */
  restart: boolean;
}

/** Every ConfigMap and Secret a template reads, once each (a restart reference wins). */
export function templateConfigRefs(template: Template): ConfigRef[] {
  const refs = new Map<string, ConfigRef>();
  const add = (kind: ConfigKind, name: string, restart: boolean): void => {
    const key = `${kind}/${name}`;
    const seen = refs.get(key);
    refs.set(key, { kind, name, restart: restart || (seen?.restart ?? false) });
  };
  for (const v of template.volumes) {
    const restart = v.onChange === undefined || v.onChange === 'restart';
    if (v.configMap !== undefined) add('ConfigMap', v.configMap, restart);
    if (v.secret !== undefined) add('Secret', v.secret, restart);
  }
  for (const e of template.envFrom ?? []) {
    if (e.configMap !== undefined) add('ConfigMap', e.configMap, true);
    if (e.secret !== undefined) add('Secret', e.secret, true);
  }
  for (const v of Object.values(template.valueFrom ?? {})) {
    if (v.configMap !== undefined) add('ConfigMap', v.configMap, true);
    if (v.secret !== undefined) add('Secret', v.secret, true);
  }
  return [...refs.values()].sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : 1));
}

/** Why a device does not get an object it references (an event on the workload says it). */
export interface DeliveryProblem {
  deviceId: string;
  /** Whose event history it goes to: the workload, Job or CronJob that references the object. */
  owner: { kind: 'Workload' | 'Job' | 'CronJob'; name: string };
  reason: 'ConfigMissing' | 'SecretUndeliverable';
  message: string;
}

export interface DeliveryInput {
  /** Each device's instances (after release pins) and the templates of its Jobs and CronJobs. */
  devices: ReadonlyMap<string, { instances: readonly DesiredInstance[]; jobTemplates: readonly { owner: { kind: 'Job' | 'CronJob'; name: string }; template: Template }[] }>;
  /** The version `deviceId` is to read (its release's pin, or the newest). */
  lookup(kind: ConfigKind, name: string, deviceId: string): ConfigObjectRecord | undefined;
  /** The device's raw X25519 key (from its facts), if its agent has one. */
  boxKey(deviceId: string): Buffer | undefined;
  /** A Secret's values (JSON of key → base64), decrypted from the store. */
  secretPlaintext(record: ConfigObjectRecord): Buffer;
  /** The hub's data key: seeds deterministic sealing (an unchanged Secret gives an unchanged box). */
  dataKey: Buffer;
}

export interface DeliveryResult {
  instances: Map<string, DesiredInstance[]>;
  configs: Map<string, DesiredConfig[]>;
  problems: DeliveryProblem[];
}

/** What the box binds: an object's box can never be taken for another object's or version's. */
export const secretBoxContext = (name: string, version: string): string => `Secret/${name}/${version}`;

/**
 * Need to know: each device gets exactly the ConfigMaps and Secrets that its own instances and Jobs
 * reference, Secrets sealed to its own key. Each instance gets a `configRevision` from the versions it
 * reads at start, so a change restarts it like a template change would. Pure but for sealing's
 * arithmetic (deterministic: the ephemeral key is derived from the data key, device and version).
 */
export function deliverConfigs(input: DeliveryInput): DeliveryResult {
  const result: DeliveryResult = { instances: new Map(), configs: new Map(), problems: [] };
  const plaintexts = new Map<string, Buffer>();
  for (const [deviceId, { instances, jobTemplates }] of input.devices) {
    const wanted = new Map<string, ConfigRef>();
    const out: DesiredInstance[] = [];
    const missing = (owner: DeliveryProblem['owner'], ref: ConfigRef): void => {
      result.problems.push({ deviceId, owner, reason: 'ConfigMissing', message: `${ref.kind.toLowerCase()} ${ref.name} does not exist; the instance waits for it` });
    };
    for (const instance of instances) {
      const refs = templateConfigRefs(instance.template);
      const restartVersions: string[] = [];
      for (const ref of refs) {
        wanted.set(`${ref.kind}/${ref.name}`, ref);
        const record = input.lookup(ref.kind, ref.name, deviceId);
        if (!record) missing({ kind: 'Workload', name: instance.workload }, ref);
        if (ref.restart) restartVersions.push(`${ref.kind}/${ref.name}@${record?.version ?? 'missing'}`);
      }
      const { configRevision: _old, ...rest } = instance;
      out.push(restartVersions.length > 0 ? { ...rest, configRevision: createHash('sha256').update(restartVersions.join('\n')).digest('hex').slice(0, 16) } : rest);
    }
    for (const { owner, template } of jobTemplates) {
      for (const ref of templateConfigRefs(template)) {
        wanted.set(`${ref.kind}/${ref.name}`, ref);
        if (!input.lookup(ref.kind, ref.name, deviceId)) missing(owner, ref);
      }
    }
    result.instances.set(deviceId, out);
    const configs: DesiredConfig[] = [];
    for (const ref of [...wanted.values()].sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : 1))) {
      const record = input.lookup(ref.kind, ref.name, deviceId);
      if (!record) continue;
      if (record.kind === 'ConfigMap') {
        configs.push({ kind: 'ConfigMap', name: record.name, version: record.version, values: record.values ?? {} });
        continue;
      }
      const boxKey = input.boxKey(deviceId);
      if (!boxKey) {
        const users = instances.filter((i) => templateConfigRefs(i.template).some((r) => r.kind === 'Secret' && r.name === record.name)).map((i) => i.workload);
        result.problems.push({
          deviceId,
          owner: { kind: 'Workload', name: users[0] ?? record.name },
          reason: 'SecretUndeliverable',
          message: `secret ${record.name} not sent to ${deviceId}: its agent reports no box key (upgrade the agent; it makes one at its next start)`,
        });
        continue;
      }
      const keyId = boxKeyId(boxKey);
      // By version too: devices of a release may read an earlier version than the others.
      const cacheKey = `${record.name}@${record.version}`;
      let plaintext = plaintexts.get(cacheKey);
      if (!plaintext) plaintexts.set(cacheKey, (plaintext = input.secretPlaintext(record)));
      const seed = createHmac('sha256', input.dataKey).update(`seal\n${deviceId}\n${keyId}\n${record.name}\n${record.version}`).digest();
      configs.push({ kind: 'Secret', name: record.name, version: record.version, sealed: sealBox(plaintext, boxKey, secretBoxContext(record.name, record.version), seed) });
    }
    if (configs.length > 0) result.configs.set(deviceId, configs);
  }
  return result;
}
