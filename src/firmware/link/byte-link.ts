/**
 * The bottom layer of "Serial as layers" (ARCHITECTURE.md): an ordered, unframed
 * byte pipe. Everything above (MCU link framing, AN3155) sees only this interface,
 * so it runs unchanged over a serial port, a pseudo-terminal or an in-memory pair.
 */

export type Unsubscribe = () => void;

export interface ByteLink {
  /**
   * Queue bytes for sending. Resolves once the bytes are handed to the transport
   * (not when they have left the wire: waiting for that would add a drain round
   * trip per write and cost line rate while flashing).
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Receive bytes in arrival order, chunked arbitrarily. */
  onData(listener: (bytes: Uint8Array) => void): Unsubscribe;
  /** Fires once when the link closes, with the error if it closed because of one. */
  onClose(listener: (error?: Error) => void): Unsubscribe;
  /** Transport errors that do not necessarily close the link. */
  onError(listener: (error: Error) => void): Unsubscribe;
  /** False once the link has closed; layers above treat that as final. */
  readonly isOpen: boolean;
  close(): Promise<void>;
  /**
   * Changes the UART framing. ST's USART bootloader speaks 8 data bits with even parity
   * (AN3155 §1) while applications usually run 8N1, so a flasher switches for the bootloader
   * and back. Links without line settings (pseudo-terminals in tests, memory pairs) omit it.
   */
  setParity?(parity: Parity): Promise<void>;
  /**
   * Changes the line rate. The STC89 ISP loader measures the host's sync pulses at a slow
   * handshake rate and switches to the transfer rate on command. Links without it carry
   * every rate alike (pseudo-terminals, memory pairs).
   */
  setBaudRate?(baud: number): Promise<void>;
  /**
   * Drives the modem control lines. Gateways wire DTR or RTS to the MCU's power switch (or
   * reset) so they can power-cycle it into a loader that only runs after power-on.
   */
  setControlLines?(lines: ControlLines): Promise<void>;
}

/** true = asserted (the line's "on" state: a USB-serial adapter's pin then reads low). */
export interface ControlLines {
  readonly dtr: boolean;
  readonly rts: boolean;
}

export type Parity = 'none' | 'even';

export class LinkClosedError extends Error {
  override name = 'LinkClosedError';
  constructor(message = 'link is closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Small typed listener set used by the link implementations. */
export class Listeners<A extends unknown[]> {
  #set = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): Unsubscribe {
    this.#set.add(listener);
    return () => {
      this.#set.delete(listener);
    };
  }

  emit(...args: A): void {
    for (const l of [...this.#set]) l(...args);
  }

  clear(): void {
    this.#set.clear();
  }

  get size(): number {
    return this.#set.size;
  }
}
