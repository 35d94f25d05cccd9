// Model of ST's USART bootloader protocol as specified in AN3155 ("USART protocol used
// in the STM32 bootloader"). Section numbers below refer to that application note.
//
// Which commands it offers, its version and what memory it reaches come from its variant
// (bootloader-variant.ts): the STM32F10x ROM (v2.2, Erase 0x43, protection commands,
// option bytes and system memory) or a later one with Extended Erase 0x44. A device
// supports either Erase or Extended Erase, never both (§3, note to the command table);
// commands the variant does not list are NACKed. While readout protection is active only
// Get, Get Version, Get ID and Readout Unprotect are served (§3, note to the command table).
// Like the ROM, the model has no inter-byte timeout: it waits for as many bytes as the
// command needs, which is why a lost byte shows up as a NACK one command later.
import { ByteQueue, Cancelled } from './byte-queue.js';
import type { BootloaderMemory } from './bootloader-variant.js';

export const ACK = 0x79;
export const NACK = 0x1f;
export const SYNC = 0x7f;

export const COMMAND = {
  get: 0x00,
  getVersion: 0x01,
  getId: 0x02,
  readMemory: 0x11,
  go: 0x21,
  writeMemory: 0x31,
  erase: 0x43,
  extendedErase: 0x44,
  writeProtect: 0x63,
  writeUnprotect: 0x73,
  readoutProtect: 0x82,
  readoutUnprotect: 0x92,
} as const;

/** Served while readout protection is active (§3, note to the command table). */
const SERVED_WHEN_PROTECTED: readonly number[] = [COMMAND.get, COMMAND.getVersion, COMMAND.getId, COMMAND.readoutUnprotect];
const MAX_TRANSFER = 256;
const MASS_ERASE = 0xffff;
const FIRST_SPECIAL_ERASE_CODE = 0xfff0; // 0xFFFE/0xFFFD bank erase, 0xFFF0.. reserved

export interface BootloaderTiming {
  readonly pageEraseMs: number;
  readonly massEraseMs: number;
  readonly programMicrosPerByte: number;
}

export interface BootloaderTarget {
  readonly memory: BootloaderMemory;
  readonly productId: number;
  /** undefined: flash operations complete instantly. */
  readonly timing: BootloaderTiming | undefined;
  send(bytes: Uint8Array): void;
  /** Flash contents changed (persist them). */
  flashChanged(): void;
  /** Go was accepted for `address`; the ACK has been sent. Start the application. */
  go(address: number): void;
  /** The ROM reset the chip after changing option bytes (§3.9-§3.12); the last ACK is sent. */
  systemReset(): void;
  commandReceived?(code: number): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const xorOf = (bytes: Iterable<number>): number => {
  let sum = 0;
  for (const byte of bytes) sum ^= byte;
  return sum;
};

export class An3155Bootloader {
  private readonly target: BootloaderTarget;
  private input = new ByteQueue();
  private running = false;

  constructor(target: BootloaderTarget) {
    this.target = target;
  }

  /** Reset into the bootloader: waits for the 0x7F autobaud byte again (§2). */
  start(): void {
    this.stop();
    this.input = new ByteQueue();
    this.running = true;
    const input = this.input;
    this.serve(input).catch((error: unknown) => {
      if (!(error instanceof Cancelled)) throw error;
    });
  }

  /** The MCU left the bootloader (Go, power cycle): drop its state. */
  stop(): void {
    this.running = false;
    this.input.cancel();
  }

  get isRunning(): boolean {
    return this.running;
  }

  receive(bytes: Uint8Array): void {
    if (this.running) this.input.push(bytes);
  }

  private reply(...bytes: number[]): void {
    this.target.send(Uint8Array.from(bytes));
  }

  private async serve(input: ByteQueue): Promise<void> {
    // §2: after reset the bootloader measures the baud rate on 0x7F and answers ACK.
    // Anything else cannot be measured and goes unanswered.
    while ((await input.readByte()) !== SYNC) {
      // not a sync byte: ignore
    }
    this.reply(ACK);
    for (;;) {
      // §3: every command is a byte and its complement; a mismatch gets a NACK.
      const code = await input.readByte();
      const complement = await input.readByte();
      if ((code ^ complement) !== 0xff) {
        this.reply(NACK);
        continue;
      }
      this.target.commandReceived?.(code);
      const finished = await this.execute(code, input);
      if (finished === 'left-bootloader') return;
    }
  }

  private async execute(code: number, input: ByteQueue): Promise<'continue' | 'left-bootloader'> {
    const { memory } = this.target;
    if (!memory.variant.commands.includes(code) || (memory.readProtected && !SERVED_WHEN_PROTECTED.includes(code))) {
      this.reply(NACK);
      return 'continue';
    }
    switch (code) {
      case COMMAND.get: {
        // §3.1: ACK, N = bytes that follow - 1, version, command codes, ACK.
        const { commands, version } = memory.variant;
        this.reply(ACK, commands.length, version, ...commands, ACK);
        return 'continue';
      }
      case COMMAND.getVersion:
        // §3.2: version and two option bytes, 0x00 each for compatibility, framed by ACKs.
        this.reply(ACK, memory.variant.version, 0x00, 0x00, ACK);
        return 'continue';
      case COMMAND.getId:
        // §3.3: N = 1 (two PID bytes follow), MSB first.
        this.reply(ACK, 0x01, (this.target.productId >> 8) & 0xff, this.target.productId & 0xff, ACK);
        return 'continue';
      case COMMAND.readMemory:
        await this.readMemory(input);
        return 'continue';
      case COMMAND.go:
        return (await this.go(input)) ? 'left-bootloader' : 'continue';
      case COMMAND.writeMemory:
        return (await this.writeMemory(input)) ? 'left-bootloader' : 'continue';
      case COMMAND.erase:
        await this.erase(input);
        return 'continue';
      case COMMAND.extendedErase:
        await this.extendedErase(input);
        return 'continue';
      default:
        return (await this.protection(code, input)) ? 'left-bootloader' : 'continue';
    }
  }

  /**
   * §3.9-§3.12: each ends by resetting the chip so the new option bytes take effect.
   * Write Protect: ACK, N (sectors - 1), the sector codes, XOR → ACK. Write Unprotect,
   * Readout Protect: ACK, ACK. Readout Unprotect: ACK, mass erase, ACK. True: reset done.
   */
  private async protection(code: number, input: ByteQueue): Promise<boolean> {
    const { memory } = this.target;
    this.reply(ACK);
    if (code === COMMAND.writeProtect) {
      const count = (await input.readByte()) + 1;
      const sectors = await input.readBytes(count);
      const checksum = await input.readByte();
      if ((xorOf(sectors) ^ (count - 1) ^ checksum) !== 0 || sectors.some((sector) => sector >= memory.sectorCount)) {
        this.reply(NACK);
        return false;
      }
      memory.protectSectors(sectors);
    } else if (code === COMMAND.writeUnprotect) {
      memory.unprotectSectors();
    } else if (code === COMMAND.readoutProtect) {
      memory.protectReadout();
    } else {
      const timing = this.target.timing;
      if (timing) await sleep(timing.massEraseMs);
      memory.unprotectReadout();
    }
    this.target.flashChanged();
    this.reply(ACK);
    this.resetChip();
    return true;
  }

  private resetChip(): void {
    this.running = false;
    this.target.systemReset();
  }

  /** 4 address bytes MSB first + XOR checksum (§3.4, §3.5, §3.6). undefined = bad checksum. */
  private async readAddress(input: ByteQueue): Promise<number | undefined> {
    const bytes = await input.readBytes(5);
    if (xorOf(bytes) !== 0) return undefined;
    return (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
  }

  private async readMemory(input: ByteQueue): Promise<void> {
    // §3.4: ACK; address + checksum -> ACK/NACK; N + ~N -> ACK then N + 1 bytes.
    this.reply(ACK);
    const address = await this.readAddress(input);
    const { memory } = this.target;
    if (address === undefined || memory.read(address, 1) === undefined) {
      this.reply(NACK);
      return;
    }
    this.reply(ACK);
    const [count = 0, check = 0] = await input.readBytes(2);
    const data = (count ^ check) === 0xff ? memory.read(address, count + 1) : undefined;
    if (data === undefined) {
      this.reply(NACK);
      return;
    }
    this.target.send(Uint8Array.of(ACK, ...data));
  }

  private async go(input: ByteQueue): Promise<boolean> {
    // §3.5: ACK; address + checksum; ACK if valid, then jump. The model can only start
    // the application from its reset vector, so only the flash base is a valid target.
    this.reply(ACK);
    const address = await this.readAddress(input);
    if (address !== this.target.memory.flash.geometry.base) {
      this.reply(NACK);
      return false;
    }
    this.reply(ACK);
    this.running = false;
    this.target.go(address);
    return true;
  }

  /** True when the write reached the option bytes and the chip reset. */
  private async writeMemory(input: ByteQueue): Promise<boolean> {
    // §3.6: ACK; address + checksum -> ACK/NACK; N, N + 1 bytes, XOR(N, data) -> ACK/NACK.
    // Flash writes must be word aligned: address and length multiples of 4 (§3.6 note).
    const { memory } = this.target;
    this.reply(ACK);
    const address = await this.readAddress(input);
    if (address === undefined || address % 4 !== 0 || !memory.writable(address)) {
      this.reply(NACK);
      return false;
    }
    this.reply(ACK);
    const count = (await input.readByte()) + 1;
    const data = await input.readBytes(count);
    const checksum = await input.readByte();
    if ((xorOf(data) ^ (count - 1) ^ checksum) !== 0 || count % 4 !== 0 || count > MAX_TRANSFER) {
      this.reply(NACK);
      return false;
    }
    const timing = this.target.timing;
    const inFlash = memory.flash.contains(address, count);
    if (timing && inFlash) await sleep((count * timing.programMicrosPerByte) / 1000);
    const result = memory.write(address, Uint8Array.from(data));
    if (inFlash || result === 'option-bytes-written') this.target.flashChanged();
    // Programming over non-erased cells leaves old AND new and the ROM reports failure.
    this.reply(result === 'ok' || result === 'option-bytes-written' ? ACK : NACK);
    if (result !== 'option-bytes-written') return false;
    this.resetChip();
    return true;
  }

  private async erase(input: ByteQueue): Promise<void> {
    // §3.7: ACK; N (pages - 1) as one byte. N = 0xFF is the global erase, followed by its
    // checksum 0x00; otherwise N + 1 page numbers (one byte each) and the XOR of N and them.
    this.reply(ACK);
    const count = await input.readByte();
    const timing = this.target.timing;
    const { memory } = this.target;
    if (count === 0xff) {
      const checksum = await input.readByte();
      if (checksum !== 0x00) {
        this.reply(NACK);
        return;
      }
      if (timing) await sleep(timing.massEraseMs);
      this.erasePages(Array.from({ length: memory.flash.pageCount }, (_, page) => page));
      this.reply(ACK);
      return;
    }
    const pages = await input.readBytes(count + 1);
    const checksum = await input.readByte();
    if ((xorOf(pages) ^ count ^ checksum) !== 0 || !pages.every((page) => page < memory.flash.pageCount)) {
      this.reply(NACK);
      return;
    }
    if (timing) await sleep(timing.pageEraseMs * pages.length);
    this.reply(this.erasePages(pages) ? ACK : NACK);
  }

  /** Write-protected pages stay as they are (the flash controller refuses them): false then. */
  private erasePages(pages: readonly number[]): boolean {
    const { memory } = this.target;
    let all = true;
    for (const page of pages) {
      if (memory.pageWriteProtected(page)) all = false;
      else memory.flash.erasePage(page);
    }
    this.target.flashChanged();
    return all;
  }

  private async extendedErase(input: ByteQueue): Promise<void> {
    // §3.8: ACK; N as 2 bytes MSB first. 0xFFFF = mass erase, then a checksum byte;
    // 0xFFFE/0xFFFD = bank erase and 0xFFF0..0xFFFC reserved (NACK on this single-bank
    // model); otherwise N + 1 page numbers (2 bytes each) and XOR of all bytes.
    this.reply(ACK);
    const header = await input.readBytes(2);
    const count = ((header[0] ?? 0) << 8) | (header[1] ?? 0);
    const timing = this.target.timing;
    if (count >= FIRST_SPECIAL_ERASE_CODE) {
      const checksum = await input.readByte();
      if (count !== MASS_ERASE || (xorOf(header) ^ checksum) !== 0) {
        this.reply(NACK);
        return;
      }
      if (timing) await sleep(timing.massEraseMs);
      this.target.memory.flash.eraseAll();
      this.target.flashChanged();
      this.reply(ACK);
      return;
    }
    const pageBytes = await input.readBytes((count + 1) * 2);
    const checksum = await input.readByte();
    const pages: number[] = [];
    for (let index = 0; index < pageBytes.length; index += 2) {
      pages.push(((pageBytes[index] ?? 0) << 8) | (pageBytes[index + 1] ?? 0));
    }
    const valid = pages.every((page) => page < this.target.memory.flash.pageCount);
    if ((xorOf(header) ^ xorOf(pageBytes) ^ checksum) !== 0 || !valid) {
      this.reply(NACK);
      return;
    }
    if (timing) await sleep(timing.pageEraseMs * pages.length);
    this.reply(this.erasePages(pages) ? ACK : NACK);
  }
}
