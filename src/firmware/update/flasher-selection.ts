/**
 * Which flasher an MCU gets, from its model's loader (flash-targets.ts): AN3155 for the
 * STM32, the STC89 ISP loader (entered by a power cycle) for the STC89C52.
 */
import type { An3155Timeouts } from '../an3155/an3155-client.js';
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import { an3155Flasher } from './an3155-flasher.js';
import type { FlashGeometry } from './flash-targets.js';
import type { Flasher } from './flasher.js';
import { powerCycler, type PowerControl, type PowerCycleTiming } from './power-control.js';
import { stc89Flasher } from './stc89-flasher.js';

export interface FlasherEnvironment {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly geometry: FlashGeometry;
  readonly an3155Timeouts?: Partial<An3155Timeouts>;
  /** How this MCU's power is cycled (STC89); default: ask the technician. */
  readonly power?: PowerControl;
  readonly powerTiming?: Partial<PowerCycleTiming>;
  /** The application's line rate (the STC89 loader switches rates; it is restored after). */
  readonly applicationBaud?: number;
  /** The port's name, for the technician's prompt. */
  readonly port?: string;
  readonly onNote?: (message: string) => void;
}

export function selectFlasher(env: FlasherEnvironment): Flasher {
  if (env.geometry.loader === 'stc89-isp') {
    const power = powerCycler(env.power ?? { kind: 'technician' }, {
      link: env.link,
      clock: env.clock,
      ...(env.port ? { port: env.port } : {}),
      ...(env.onNote ? { onNote: env.onNote } : {}),
      ...(env.powerTiming ? { timing: env.powerTiming } : {}),
    });
    return stc89Flasher({
      link: env.link,
      clock: env.clock,
      geometry: env.geometry,
      power,
      ...(env.applicationBaud ? { applicationBaud: env.applicationBaud } : {}),
      ...(env.onNote ? { onNote: env.onNote } : {}),
    });
  }
  return an3155Flasher(env);
}
