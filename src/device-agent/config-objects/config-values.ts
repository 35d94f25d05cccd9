import type { KeyObject } from 'node:crypto';
import { configValuesSchema, openSealedBox, type ConfigKind, type ConfigValues, type DesiredConfig } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

/** Why an instance cannot have its ConfigMap or Secret here; the start fails with this, and retries. */
export class ConfigUnavailableError extends Error {
  constructor(
    readonly code: 'not-delivered' | 'cannot-open' | 'missing-key',
    message: string,
  ) {
    super(message);
  }
}

/** What the box binds (the hub's secretBoxContext): the same string on both sides. */
const boxContext = (name: string, version: string): string => `Secret/${name}/${version}`;

/**
 * The values of the ConfigMaps and Secrets in the desired document. A Secret is opened with this
 * device's box key only when an instance needs it, and kept in memory only (never written in clear
 * outside its tmpfs files).
 */
export class ConfigValueSource {
  private readonly opened = new Map<string, ConfigValues>();

  constructor(
    private readonly boxKey: KeyObject,
    private readonly configs: () => readonly DesiredConfig[] | undefined,
  ) {}

  /** The config's version and values, or a typed error saying why not. */
  get(kind: ConfigKind, name: string): { version: string; values: ConfigValues } {
    const config = (this.configs() ?? []).find((c) => c.kind === kind && c.name === name);
    if (!config) throw new ConfigUnavailableError('not-delivered', `${kind.toLowerCase()} ${name} has not reached this device (does it exist on the hub?)`);
    if (config.kind === 'ConfigMap') return { version: config.version, values: config.values };
    const key = `${config.name}@${config.version}`;
    let values = this.opened.get(key);
    if (!values) {
      let plaintext: Buffer;
      try {
        plaintext = openSealedBox(config.sealed, this.boxKey, boxContext(config.name, config.version));
      } catch (err) {
        throw new ConfigUnavailableError('cannot-open', `secret ${name} cannot be opened with this device's key: ${errorMessage(err)}`);
      }
      values = configValuesSchema.parse(JSON.parse(plaintext.toString('utf8')));
      // Only the versions still in the document are kept.
      for (const k of this.opened.keys()) if (k.startsWith(`${config.name}@`)) this.opened.delete(k);
      this.opened.set(key, values);
    }
    return { version: config.version, values };
  }
}
