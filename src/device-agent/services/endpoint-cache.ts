import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { decodePayload, deviceServicesSchema, payloadLimits, type DeviceServices } from '../../protocol/index.js';

/**
 * The last services document, on disk: an agent that restarts while the hub is away still
 * resolves its services (issue 14). Written durably before it is used, like the desired state.
 */
export class EndpointCache {
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'services.json');
  }

  /** The kept document, or undefined (none yet, or unreadable: the warning says which). */
  async load(warn: (message: string) => void): Promise<DeviceServices | undefined> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return undefined;
    const decoded = decodePayload(deviceServicesSchema, Buffer.from(text), payloadLimits.services);
    if (!decoded.ok) {
      warn(`ignoring ${this.path}: ${decoded.error}`);
      return undefined;
    }
    return decoded.value;
  }

  async save(document: DeviceServices): Promise<void> {
    await writeFileDurably(this.path, JSON.stringify(document));
  }
}
