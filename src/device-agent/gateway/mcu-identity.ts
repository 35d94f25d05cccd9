/**
 * Naming an MCU and describing it in facts. Pure: the same identity always gives the
 * same id, so telemetry topics, kept images and the hub's view survive reboots,
 * re-plugging and a move to another port.
 */
import type { Identity } from '../../firmware/index.js';
import { MCU_ID_PATTERN, type AttachedMcu } from '../../protocol/index.js';

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

export function attachedMcu(identity: Identity, port: string, online: boolean): AttachedMcu {
  return {
    id: mcuIdFor(identity),
    model: identity.model,
    application: identity.application,
    serial: identity.serialNumber,
    firmwareVersion: identity.firmwareVersion,
    port,
    online,
  };
}
