/**
 * The name of an MCU across the fleet, derived from what it says in IDENTITY. Shared by
 * the gateway (topics, facts, kept images) and the CLI's local flashing (kept images), so
 * both keep a chip's rollback image under the same name.
 */
import { MCU_ID_PATTERN } from '../../protocol/index.js';
import type { Identity } from '../mculink/messages.js';

/**
 * `<model>-<serial hex>` (e.g. `stm32f103-0123456789abcdef`): the serial is unique per chip
 * (PROTOCOL.md, IDENTITY), the model keeps ids readable. Anything outside [a-z0-9-] in the
 * model becomes '-' so the id is safe in an MQTT topic (no / + #) and as a folder name.
 */
export function mcuIdFor(identity: Pick<Identity, 'model' | 'serialNumber'>): string {
  const model = identity.model.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'mcu';
  const id = `${model}-${identity.serialNumber.toLowerCase()}`.slice(0, 63);
  if (!MCU_ID_PATTERN.test(id)) throw new RangeError(`cannot derive an MCU id from model ${JSON.stringify(identity.model)}`);
  return id;
}
