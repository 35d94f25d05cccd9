/**
 * Power-cycling an MCU whose loader runs only after power-on (the STC89's ISP loader). A
 * gateway wires a modem control line of the MCU's serial adapter to the MCU's supply
 * switch — asserted = power off, as stcgal's `-a` expects (`-inverted`: the other way) —
 * or, without that wire, asks the technician to switch it off and on.
 */
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import { errorMessage } from '../../common/errors.js';

export type PowerControl =
  | { readonly kind: 'line'; readonly line: 'dtr' | 'rts'; readonly inverted: boolean }
  | { readonly kind: 'technician' };

export const POWER_CONTROL_NAMES = ['dtr', 'rts', 'dtr-inverted', 'rts-inverted', 'ask'] as const;
export type PowerControlName = (typeof POWER_CONTROL_NAMES)[number];

export function parsePowerControl(name: string): PowerControl | undefined {
  switch (name) {
    case 'dtr':
    case 'rts':
      return { kind: 'line', line: name, inverted: false };
    case 'dtr-inverted':
      return { kind: 'line', line: 'dtr', inverted: true };
    case 'rts-inverted':
      return { kind: 'line', line: 'rts', inverted: true };
    case 'ask':
      return { kind: 'technician' };
    default:
      return undefined;
  }
}

export interface PowerCycleTiming {
  /** How long the supply stays off (its capacitors must drain). Default 500 ms. */
  readonly offMs: number;
  /** How long to wait for the loader once the power is back (line), or for the technician. */
  readonly lineTimeoutMs: number;
  readonly technicianTimeoutMs: number;
}

export const DEFAULT_POWER_TIMING: PowerCycleTiming = { offMs: 500, lineTimeoutMs: 5_000, technicianTimeoutMs: 60_000 };

export interface PowerCycler {
  /** Switch the power off and on (or ask for it); resolves when it is back on (or asked). */
  cycle(): Promise<void>;
  /** How long to keep sending sync pulses for the loader. */
  readonly timeoutMs: number;
}

export class PowerControlError extends Error {
  override name = 'PowerControlError';
  readonly code = 'power-control';
}

export function powerCycler(
  control: PowerControl,
  env: { link: ByteLink; clock: Clock; port?: string; onNote?: (message: string) => void; timing?: Partial<PowerCycleTiming> },
): PowerCycler {
  const timing = { ...DEFAULT_POWER_TIMING, ...env.timing };
  if (control.kind === 'technician') {
    const seconds = Math.round(timing.technicianTimeoutMs / 1000);
    return {
      timeoutMs: timing.technicianTimeoutMs,
      cycle: () => {
        env.onNote?.(
          `power-cycle the MCU${env.port ? ` on ${env.port}` : ''} now: switch its supply off and on again (its ISP loader runs only after power-on); waiting ${seconds} s`,
        );
        return Promise.resolve();
      },
    };
  }
  const { link, clock } = env;
  const line = control.line.toUpperCase();
  const set = async (off: boolean): Promise<void> => {
    const cannot = (why: string): PowerControlError =>
      new PowerControlError(`cannot drive ${line} on this port (${why}): wire it to the MCU's supply switch, or have the technician power-cycle it (power control "ask")`);
    if (!link.setControlLines) throw cannot('the link has no modem lines');
    const asserted = control.inverted ? !off : off;
    try {
      await link.setControlLines(control.line === 'dtr' ? { dtr: asserted, rts: false } : { dtr: false, rts: asserted });
    } catch (err) {
      throw cannot(errorMessage(err));
    }
  };
  return {
    timeoutMs: timing.lineTimeoutMs + timing.offMs,
    async cycle() {
      env.onNote?.(`power-cycling the MCU through ${line}${control.inverted ? ' (inverted)' : ''}`);
      await set(true);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, timing.offMs));
      await set(false);
    },
  };
}
