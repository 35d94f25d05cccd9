/** An identified MCU as the gateway lists it in its facts. Pure. */
import type { Identity } from '../../firmware/index.js';
import { mcuIdFor } from '../../firmware/update/mcu-id.js';
import type { AttachedMcu } from '../../protocol/index.js';

export { mcuIdFor };

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
