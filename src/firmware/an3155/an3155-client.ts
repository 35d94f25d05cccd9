/**
 * Host side of the STM32 USART bootloader protocol (ST AN3155). Each command is
 * the byte pair (code, code XOR 0xFF); every phase is confirmed by ACK 0x79 or
 * refused by NACK 0x1F, after which the bootloader waits for a new command.
 * Addresses are 4 bytes MSB first followed by their XOR; lengths are sent as N-1.
 */
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import { LinkClosedError } from '../link/byte-link.js';
import { ByteReader, ReadTimeoutError } from './byte-reader.js';
import type { EraseTarget } from './wire.js';
import { ACK, BootloaderError, Command, encodeAddress, hex32, MAX_TRANSFER, NACK, SYNC, xorChecksum } from './wire.js';

export interface An3155Timeouts {
  /** Wait for the answer to one 0x7F during sync/resync. */
  readonly syncMs: number;
  /** Wait for an ACK after a command pair, an address, a length. */
  readonly ackMs: number;
  /** Wait for a Write Memory ACK (includes sending 258 bytes and programming them). */
  readonly writeMs: number;
  /** Wait for Read Memory data and Get/GetID/GetVersion answers. */
  readonly readMs: number;
  /** Wait for the ACK ending an erase: a mass erase takes seconds on large parts. */
  readonly eraseMs: number;
}

export const DEFAULT_TIMEOUTS: An3155Timeouts = { syncMs: 200, ackMs: 1000, writeMs: 1000, readMs: 1000, eraseMs: 40_000 };

export interface An3155ClientOptions {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly timeouts?: Partial<An3155Timeouts>;
}

export class An3155Client {
  readonly #reader: ByteReader;
  readonly #link: ByteLink;
  readonly timeouts: An3155Timeouts;

  constructor(options: An3155ClientOptions) {
    this.#link = options.link;
    this.#reader = new ByteReader(options.link, options.clock);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  }

  get isOpen(): boolean {
    return this.#link.isOpen;
  }

  /**
   * Initial handshake (AN3155 §2, "USART bootloader code sequence"). A fresh
   * bootloader answers 0x7F with ACK (autobaud done). One that is already
   * synced takes the 0x7F as the first byte of a command and stays silent; a second
   * 0x7F completes an invalid pair and it answers NACK. Either answer means alive;
   * the result says which ('nack' = it had been synced before).
   */
  async sync(attempts = 2): Promise<'ack' | 'nack'> {
    this.#reader.discard();
    // Two probes cover both states; more help when the first bytes after a reset
    // into the bootloader are lost (its USART is not receiving yet).
    for (let attempt = 0; attempt < Math.max(2, attempts); attempt++) {
      const answer = await this.#probe();
      if (answer !== undefined) return answer;
    }
    throw new BootloaderError('timeout', 'bootloader did not answer 0x7F (is the MCU in its bootloader? 8E1 framing?)');
  }

  /**
   * Bring a bootloader of unknown state (after a timeout, a garbled answer or an
   * abandoned command) back to "waiting for a command". Lone 0x7F bytes end a
   * pending pair; if the bootloader still sits inside a Write Memory data block,
   * a burst of one block's length completes it (wrong checksum → NACK).
   */
  async resync(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      this.#reader.discard();
      for (let attempt = 0; attempt < 2; attempt++) {
        if ((await this.#probe()) !== undefined) return;
      }
      await this.#link.write(new Uint8Array(MAX_TRANSFER + 2).fill(SYNC));
      await this.#drainUntilQuiet();
    }
    throw new BootloaderError('timeout', 'bootloader did not resynchronise');
  }

  /** Get (0x00, AN3155 §3.1): bootloader version and the supported command codes. */
  async get(): Promise<{ version: number; commands: number[] }> {
    await this.#command(Command.GET, 'Get');
    const n = await this.#read(1, this.timeouts.readMs, 'Get');
    const body = await this.#read((n[0] ?? 0) + 1, this.timeouts.readMs, 'Get');
    await this.#ack(this.timeouts.ackMs, 'Get (final ACK)');
    return { version: body[0] ?? 0, commands: Array.from(body.subarray(1)) };
  }

  /** Get Version & Read Protection Status (0x01, AN3155 §3.2). */
  async getVersion(): Promise<{ version: number; optionBytes: [number, number] }> {
    await this.#command(Command.GET_VERSION, 'Get Version');
    const body = await this.#read(3, this.timeouts.readMs, 'Get Version');
    await this.#ack(this.timeouts.ackMs, 'Get Version (final ACK)');
    return { version: body[0] ?? 0, optionBytes: [body[1] ?? 0, body[2] ?? 0] };
  }

  /** Get ID (0x02, AN3155 §3.3): the product ID, e.g. 0x410 for STM32F10x medium density. */
  async getId(): Promise<number> {
    await this.#command(Command.GET_ID, 'Get ID');
    const n = await this.#read(1, this.timeouts.readMs, 'Get ID');
    const pid = await this.#read((n[0] ?? 0) + 1, this.timeouts.readMs, 'Get ID');
    await this.#ack(this.timeouts.ackMs, 'Get ID (final ACK)');
    return pid.reduce((v, b) => v * 256 + b, 0);
  }

  /** Read Memory (0x11, AN3155 §3.4): 1..256 bytes; the length goes as N-1 and its complement. */
  async readMemory(address: number, length: number): Promise<Uint8Array> {
    if (!Number.isInteger(length) || length < 1 || length > MAX_TRANSFER) throw new RangeError(`Read Memory length must be 1..256, got ${length}`);
    const what = `Read Memory at ${hex32(address)}`;
    await this.#memoryCommand(Command.READ_MEMORY, what);
    await this.#send(encodeAddress(address), this.timeouts.ackMs, `${what} (address)`);
    await this.#send(Uint8Array.of(length - 1, (length - 1) ^ 0xff), this.timeouts.ackMs, `${what} (length)`);
    return this.#read(length, this.timeouts.readMs, what);
  }

  /**
   * Write Memory (0x31, AN3155 §3.6): 4..256 bytes, a multiple of 4, at a 4-byte aligned address.
   * Wire: 31 CE · ACK · A3 A2 A1 A0 XOR · ACK · N-1 D0..DN-1 XOR(N-1, D…) · ACK.
   */
  async writeMemory(address: number, data: Uint8Array): Promise<void> {
    const n = data.length;
    if (n < 1 || n > MAX_TRANSFER || n % 4 !== 0) throw new RangeError(`Write Memory length must be a multiple of 4 in 4..256, got ${n}`);
    if (address % 4 !== 0) throw new RangeError(`Write Memory address ${hex32(address)} is not 4-byte aligned`);
    const what = `Write Memory at ${hex32(address)}`;
    await this.#memoryCommand(Command.WRITE_MEMORY, what);
    await this.#send(encodeAddress(address), this.timeouts.ackMs, `${what} (address)`);
    const block = new Uint8Array(n + 2);
    block[0] = n - 1;
    block.set(data, 1);
    block[n + 1] = xorChecksum(data, n - 1);
    await this.#send(block, this.timeouts.writeMs, `${what} (data)`);
  }

  /**
   * Extended Erase (0x44, AN3155 §3.8): 'mass' sends the special code 0xFFFF, banks 0xFFFE/0xFFFD;
   * a page list sends N-1 then each page number, all 16-bit MSB first, then the XOR.
   */
  async extendedErase(target: EraseTarget): Promise<void> {
    let body: number[];
    if (typeof target === 'string') {
      const code = { mass: 0xffff, bank1: 0xfffe, bank2: 0xfffd }[target];
      body = [code >> 8, code & 0xff];
    } else {
      if (target.length < 1 || target.length > 0xfff0) throw new RangeError(`Extended Erase takes 1..65520 pages, got ${target.length}`);
      body = [(target.length - 1) >> 8, (target.length - 1) & 0xff];
      for (const page of target) {
        if (!Number.isInteger(page) || page < 0 || page > 0xffff) throw new RangeError(`page number ${page} is not 16-bit`);
        body.push(page >> 8, page & 0xff);
      }
    }
    await this.#memoryCommand(Command.EXTENDED_ERASE, 'Extended Erase');
    await this.#send(Uint8Array.of(...body, xorChecksum(body)), this.timeouts.eraseMs, `Extended Erase (${describeErase(target)})`);
  }

  /**
   * Erase (0x43, AN3155 §3.7), the older form kept by e.g. the STM32F10x bootloader v2.2:
   * global erase is FF 00; a page list is N-1, one byte per page, the XOR.
   */
  async erase(target: 'mass' | readonly number[]): Promise<void> {
    let payload: Uint8Array;
    if (target === 'mass') payload = Uint8Array.of(0xff, 0x00);
    else {
      if (target.length < 1 || target.length > 255) throw new RangeError(`Erase takes 1..255 pages, got ${target.length}`);
      if (target.some((p) => !Number.isInteger(p) || p < 0 || p > 0xff)) throw new RangeError('Erase (0x43) page numbers must be 0..255');
      const body = [target.length - 1, ...target];
      payload = Uint8Array.of(...body, xorChecksum(body));
    }
    await this.#memoryCommand(Command.ERASE, 'Erase');
    await this.#send(payload, this.timeouts.eraseMs, `Erase (${describeErase(target)})`);
  }

  /** Go (0x21, AN3155 §3.5): jump to the application whose vector table starts at `address`. */
  async go(address: number): Promise<void> {
    await this.#memoryCommand(Command.GO, `Go ${hex32(address)}`);
    await this.#send(encodeAddress(address), this.timeouts.ackMs, `Go ${hex32(address)} (address)`);
  }

  /**
   * Readout Unprotect (0x92, AN3155 §3.12): the bootloader ACKs the command, erases the
   * whole flash, clears the protection, ACKs again and then resets the chip to load the
   * new option bytes. After it, the host must sync again (§2) — if the chip comes back
   * into its bootloader at all: that depends on how BOOT0 is wired.
   */
  async readoutUnprotect(): Promise<void> {
    await this.#command(Command.READOUT_UNPROTECT, 'Readout Unprotect');
    await this.#ack(this.timeouts.eraseMs, 'Readout Unprotect (flash erased)');
  }

  /**
   * Readout Protect (0x82, AN3155 §3.11): ACK, the option bytes are written, ACK, then a
   * system reset. Refused (NACK at the command) while the protection is already active.
   */
  async readoutProtect(): Promise<void> {
    await this.#memoryCommand(Command.READOUT_PROTECT, 'Readout Protect');
    await this.#ack(this.timeouts.eraseMs, 'Readout Protect (option bytes written)');
  }

  /** Stop listening to the link; the link itself stays open. */
  dispose(): void {
    this.#reader.dispose();
  }

  /** Send one 0x7F; the answer, or undefined on silence or a stray byte. */
  async #probe(): Promise<'ack' | 'nack' | undefined> {
    try {
      const b = (await this.#exchange(Uint8Array.of(SYNC), 1, this.timeouts.syncMs, 'sync'))[0];
      return b === ACK ? 'ack' : b === NACK ? 'nack' : undefined;
    } catch (err) {
      if (err instanceof BootloaderError && err.code === 'timeout') return undefined;
      throw err;
    }
  }

  async #drainUntilQuiet(): Promise<void> {
    for (;;) {
      this.#reader.discard();
      try {
        await this.#reader.read(1, this.timeouts.syncMs);
      } catch (err) {
        if (err instanceof ReadTimeoutError) return;
        throw wrap(err, 'resync');
      }
    }
  }

  /**
   * A command that the bootloader serves only without readout protection: a NACK of the
   * command pair itself is what RDP looks like (AN3155 §3, note 2 to the command table).
   * Line noise can look the same; callers that retry after a resync tell them apart.
   */
  async #memoryCommand(code: number, what: string): Promise<void> {
    try {
      await this.#command(code, what);
    } catch (err) {
      if (err instanceof BootloaderError && err.code === 'nack') {
        throw new BootloaderError('read-protected', `${what}: refused (readout protection is active)`, { cause: err });
      }
      throw err;
    }
  }

  #command(code: number, what: string): Promise<void> {
    return this.#send(Uint8Array.of(code, code ^ 0xff), this.timeouts.ackMs, what);
  }

  /** Send bytes and expect one ACK. */
  async #send(bytes: Uint8Array, timeoutMs: number, what: string): Promise<void> {
    const answer = (await this.#exchange(bytes, 1, timeoutMs, what))[0];
    checkAck(answer, what);
  }

  async #ack(timeoutMs: number, what: string): Promise<void> {
    checkAck((await this.#read(1, timeoutMs, what))[0], what);
  }

  async #exchange(bytes: Uint8Array, n: number, timeoutMs: number, what: string): Promise<Uint8Array> {
    try {
      return await this.#reader.exchange(bytes, n, timeoutMs);
    } catch (err) {
      throw wrap(err, what);
    }
  }

  async #read(n: number, timeoutMs: number, what: string): Promise<Uint8Array> {
    try {
      return await this.#reader.read(n, timeoutMs);
    } catch (err) {
      throw wrap(err, what);
    }
  }
}

function checkAck(answer: number | undefined, what: string): void {
  if (answer === ACK) return;
  if (answer === NACK) throw new BootloaderError('nack', `${what}: bootloader answered NACK`);
  throw new BootloaderError('unexpected', `${what}: expected ACK 0x79, got 0x${(answer ?? 0).toString(16).padStart(2, '0')}`);
}

function wrap(err: unknown, what: string): Error {
  if (err instanceof BootloaderError) return err;
  if (err instanceof ReadTimeoutError) return new BootloaderError('timeout', `${what}: ${err.message}`, { cause: err });
  if (err instanceof LinkClosedError) return new BootloaderError('closed', `${what}: ${err.message}`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

function describeErase(target: EraseTarget): string {
  if (typeof target === 'string') return target;
  return target.length === 1 ? `page ${target[0]}` : `${target.length} pages`;
}
