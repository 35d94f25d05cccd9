// The wire between gateway and MCU as the bench models it: each direction optionally
// throttled to the line rate (baud / bits per byte), with the fault injector in the path.
// Faults act where a cable would: host bytes as they leave the host, MCU bytes as they
// would reach it.
import { FaultInjector, parseFault, type FaultEvent, type FaultSpec } from './faults.js';
import { ThrottledPipe } from './throttle.js';

export interface SerialLineOptions {
  readonly baud?: number;
  /** 10 for 8N1 (default), 11 for 8E1. */
  readonly bitsPerByte?: number;
  readonly fault?: string | FaultSpec;
}

export interface SerialLineEnds {
  toDevice(bytes: Uint8Array): void;
  toHost(bytes: Uint8Array): void;
  fault(event: FaultEvent): void;
}

export class SerialLine {
  private readonly faults: FaultInjector;
  private readonly hostToDevice: ThrottledPipe;
  private readonly deviceToHost: ThrottledPipe;

  constructor(options: SerialLineOptions, ends: SerialLineEnds) {
    const bytesPerSecond = options.baud === undefined ? undefined : options.baud / (options.bitsPerByte ?? 10);
    const fault = typeof options.fault === 'string' ? parseFault(options.fault) : options.fault;
    this.faults = new FaultInjector(fault, (event) => ends.fault(event));
    this.hostToDevice = new ThrottledPipe(bytesPerSecond, (bytes) => ends.toDevice(bytes));
    this.deviceToHost = new ThrottledPipe(bytesPerSecond, (bytes) => ends.toHost(this.faults.deviceToHost(bytes)));
  }

  /** Bytes the gateway wrote; fault counting applies only while the bootloader listens. */
  fromHost(bytes: Uint8Array, bootloaderListening: boolean): void {
    this.hostToDevice.push(this.faults.hostToDevice(bytes, bootloaderListening));
  }

  fromDevice(bytes: Uint8Array): void {
    this.deviceToHost.push(bytes);
  }

  /** The host end was unplugged: what was on its way there is lost. */
  dropHostBound(): void {
    this.deviceToHost.clear();
  }

  clear(): void {
    this.hostToDevice.clear();
    this.deviceToHost.clear();
  }
}
