// Model of ST's USART bootloader protocol as specified in AN3155 ("USART protocol used
// in the STM32 bootloader"). Section numbers below refer to that application note.
//
// Scope: the commands a flasher needs (Get, Get Version, Get ID, Read Memory, Go, Write
// Memory, Extended Erase) over the MCU's flash only. The real ROM also reaches SRAM,
// system memory and option bytes; here any address outside flash is NACKed. Erase
// (0x43) is NACKed because a device supports either Erase or Extended Erase, never both
// (§3, note to the command table); write/readout protection commands are NACKed as unsupported.
// Like the ROM, the model has no inter-byte timeout: it waits for as many bytes as the
// command needs, which is why a lost byte shows up as a NACK one command later.
import { ByteQueue, Cancelled } from './byte-queue.js';
import type { FlashMemory } from './flash-memory.js';

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
  extendedErase: 0x44,
} as const;

const SUPPORTED_COMMANDS = [
  COMMAND.get, COMMAND.getVersion, COMMAND.getId, COMMAND.readMemory,
  COMMAND.go, COMMAND.writeMemory, COMMAND.extendedErase,
];
const MAX_TRANSFER = 256;
const MASS_ERASE = 0xffff;
const FIRST_SPECIAL_ERASE_CODE = 0xfff0; // 0xFFFE/0xFFFD bank erase, 0xFFF0.. reserved

export interface BootloaderTiming {
  readonly pageEraseMs: number;
  readonly massEraseMs: number;
  readonly programMicrosPerByte: number;
}

export interface BootloaderTarget {
  readonly flash: FlashMemory;
  readonly productId: number;
  readonly version: number;
  /** undefined: flash operations complete instantly. */
  readonly timing: BootloaderTiming | undefined;
  send(bytes: Uint8Array): void;
  /** Flash contents changed (persist them). */
  flashChanged(): void;
  /** Go was accepted for `address`; the ACK has been sent. Start the application. */
  go(address: number): void;
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
    switch (code) {
      case COMMAND.get: {
        // §3.1: ACK, N = bytes that follow - 1, version, command codes, ACK.
        this.reply(ACK, SUPPORTED_COMMANDS.length, this.target.version, ...SUPPORTED_COMMANDS, ACK);
        return 'continue';
      }
      case COMMAND.getVersion:
        // §3.2: version and two option bytes (read protection disabled), framed by ACKs.
        this.reply(ACK, this.target.version, 0x00, 0x00, ACK);
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
        await this.writeMemory(input);
        return 'continue';
      case COMMAND.extendedErase:
        await this.extendedErase(input);
        return 'continue';
      default:
        // Unsupported here (Erase 0x43, write/readout protect/unprotect): NACK.
        this.reply(NACK);
        return 'continue';
    }
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
    if (address === undefined || !this.target.flash.contains(address, 1)) {
      this.reply(NACK);
      return;
    }
    this.reply(ACK);
    const [count = 0, check = 0] = await input.readBytes(2);
    if ((count ^ check) !== 0xff || !this.target.flash.contains(address, count + 1)) {
      this.reply(NACK);
      return;
    }
    this.target.send(Uint8Array.of(ACK, ...this.target.flash.read(address, count + 1)));
  }

  private async go(input: ByteQueue): Promise<boolean> {
    // §3.5: ACK; address + checksum; ACK if valid, then jump. The model can only start
    // the application from its reset vector, so only the flash base is a valid target.
    this.reply(ACK);
    const address = await this.readAddress(input);
    if (address !== this.target.flash.geometry.base) {
      this.reply(NACK);
      return false;
    }
    this.reply(ACK);
    this.running = false;
    this.target.go(address);
    return true;
  }

  private async writeMemory(input: ByteQueue): Promise<void> {
    // §3.6: ACK; address + checksum -> ACK/NACK; N, N + 1 bytes, XOR(N, data) -> ACK/NACK.
    // Flash writes must be word aligned: address and length multiples of 4 (§3.6 note).
    this.reply(ACK);
    const address = await this.readAddress(input);
    if (address === undefined || address % 4 !== 0 || !this.target.flash.contains(address, 1)) {
      this.reply(NACK);
      return;
    }
    this.reply(ACK);
    const count = (await input.readByte()) + 1;
    const data = await input.readBytes(count);
    const checksum = await input.readByte();
    if ((xorOf(data) ^ (count - 1) ^ checksum) !== 0 || count % 4 !== 0 ||
        count > MAX_TRANSFER || !this.target.flash.contains(address, count)) {
      this.reply(NACK);
      return;
    }
    const timing = this.target.timing;
    if (timing) await sleep((count * timing.programMicrosPerByte) / 1000);
    const result = this.target.flash.program(address, Uint8Array.from(data));
    this.target.flashChanged();
    // Programming over non-erased cells leaves old AND new and the ROM reports failure.
    this.reply(result === 'ok' ? ACK : NACK);
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
      this.target.flash.eraseAll();
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
    const valid = pages.every((page) => page < this.target.flash.pageCount);
    if ((xorOf(header) ^ xorOf(pageBytes) ^ checksum) !== 0 || !valid) {
      this.reply(NACK);
      return;
    }
    for (const page of pages) {
      if (timing) await sleep(timing.pageEraseMs);
      this.target.flash.erasePage(page);
    }
    this.target.flashChanged();
    this.reply(ACK);
  }
}
