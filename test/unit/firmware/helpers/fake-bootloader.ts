/**
 * A stateful, strict model of an STM32 system bootloader (AN3155) for flashing
 * tests, written from the application note independently of the client. It
 * answers as the real one does (ACK/NACK) and records as violations everything a
 * correct host never does: misaligned or odd-length writes, programming flash
 * that is not erased, checksums that do not match when no corruption was injected.
 */
import type { ByteLink } from '../../../../src/firmware/link/byte-link.js';

const ACK = 0x79;
const NACK = 0x1f;

export interface FakeBootloaderOptions {
  readonly flashBase?: number;
  readonly flashSize?: number;
  readonly pageSize?: number;
  /** Command codes offered by Get; default includes Extended Erase (0x44). */
  readonly commands?: readonly number[];
  /** Addresses whose programmed value reads back as this byte (a bad cell). */
  readonly stuck?: ReadonlyMap<number, number>;
}

type Handler = (bytes: Uint8Array) => void;

export class FakeBootloader {
  readonly flash: Uint8Array;
  readonly flashBase: number;
  readonly pageSize: number;
  readonly commands: readonly number[];
  readonly violations: string[] = [];
  /** Every command executed: 'write 0x08000000 256', 'erase mass', 'nack …'. */
  readonly log: string[] = [];
  /** Checksum failures that are expected because the test corrupted bytes. */
  tolerateChecksumErrors = 0;
  state: 'autobaud' | 'command' | 'busy' | 'running' = 'autobaud';
  goAddress: number | undefined;
  readonly #link: ByteLink;
  readonly #stuck: ReadonlyMap<number, number>;
  #buf: number[] = [];
  #need = 0;
  #handler: Handler | undefined;

  constructor(link: ByteLink, options: FakeBootloaderOptions = {}) {
    this.#link = link;
    this.flashBase = options.flashBase ?? 0x08000000;
    this.pageSize = options.pageSize ?? 1024;
    this.flash = new Uint8Array(options.flashSize ?? 64 * 1024);
    // Old firmware: flash is not erased; writing without erasing is caught below.
    for (let i = 0; i < this.flash.length; i++) this.flash[i] = (i * 31 + 7) & 0xff;
    this.commands = options.commands ?? [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92];
    this.#stuck = options.stuck ?? new Map();
    link.onData((b) => this.#onData(b));
  }

  /** Bytes received but not consumed: 0 and state 'command' means synced and idle. */
  get pendingBytes(): number {
    return this.#buf.length;
  }

  #onData(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.state === 'running') {
        this.violations.push(`byte 0x${b.toString(16)} received after Go`);
        continue;
      }
      if (this.state === 'autobaud') {
        if (b === 0x7f) {
          this.state = 'command';
          this.#send(ACK);
        } else this.violations.push(`autobaud expected 0x7F, got 0x${b.toString(16)}`);
        continue;
      }
      this.#buf.push(b);
      if (this.state === 'command' && this.#buf.length === 2) this.#command();
      else if (this.state === 'busy' && this.#buf.length === this.#need) {
        const chunk = Uint8Array.from(this.#buf);
        this.#buf = [];
        const h = this.#handler;
        this.#handler = undefined;
        this.state = 'command';
        h?.(chunk);
      }
    }
  }

  #command(): void {
    const [code = 0, complement = 0] = this.#buf;
    this.#buf = [];
    if ((code ^ complement) !== 0xff || !this.commands.includes(code)) {
      this.log.push(`nack command 0x${code.toString(16)} 0x${complement.toString(16)}`);
      this.#send(NACK);
      return;
    }
    this.#send(ACK);
    switch (code) {
      case 0x00:
        this.#send(this.commands.length, 0x31, ...this.commands, ACK);
        break;
      case 0x01:
        this.#send(0x31, 0x00, 0x00, ACK);
        break;
      case 0x02:
        this.#send(0x01, 0x04, 0x10, ACK);
        break;
      case 0x11:
        this.#address((address) =>
          this.#expect(2, ([n = 0, c = 0]) => {
            if ((n ^ c) !== 0xff) return this.#nack('read length complement');
            this.log.push(`read ${hex32(address)} ${n + 1}`);
            this.#send(ACK, ...this.#read(address, n + 1));
          }),
        );
        break;
      case 0x31:
        this.#address((address) =>
          this.#expect(1, ([n = 0]) =>
            this.#expect(n + 2, (rest) => {
              const data = rest.subarray(0, n + 1);
              const sum = data.reduce((x, b) => x ^ b, n);
              if (sum !== rest[n + 1]) return this.#checksumError(`write data checksum at ${hex32(address)}`);
              if (address % 4 !== 0 || (n + 1) % 4 !== 0) this.violations.push(`unaligned write ${hex32(address)} +${n + 1}`);
              this.#program(address, data);
              this.log.push(`write ${hex32(address)} ${n + 1}`);
              this.#send(ACK);
            }),
          ),
        );
        break;
      case 0x44:
        this.#expect(2, ([hi = 0, lo = 0]) => {
          const n = (hi << 8) | lo;
          if (n === 0xffff) {
            return this.#expect(1, ([c = 0]) => {
              if (c !== 0x00) return this.#checksumError('mass erase checksum');
              this.flash.fill(0xff);
              this.log.push('erase mass');
              this.#send(ACK);
            });
          }
          this.#expect(2 * (n + 1) + 1, (rest) => {
            const sum = rest.subarray(0, rest.length - 1).reduce((x, b) => x ^ b, hi ^ lo);
            if (sum !== rest[rest.length - 1]) return this.#checksumError('page erase checksum');
            const pages: number[] = [];
            for (let i = 0; i <= n; i++) pages.push(((rest[2 * i] ?? 0) << 8) | (rest[2 * i + 1] ?? 0));
            for (const p of pages) this.flash.fill(0xff, p * this.pageSize, (p + 1) * this.pageSize);
            this.log.push(`erase pages ${pages.join(',')}`);
            this.#send(ACK);
          });
        });
        break;
      case 0x43:
        this.#expect(1, ([n = 0]) => {
          if (n === 0xff) {
            return this.#expect(1, ([c = 0]) => {
              if (c !== 0x00) return this.#checksumError('global erase checksum');
              this.flash.fill(0xff);
              this.log.push('erase mass');
              this.#send(ACK);
            });
          }
          this.#expect(n + 2, (rest) => {
            const pages = Array.from(rest.subarray(0, n + 1));
            if (pages.reduce((x, b) => x ^ b, n) !== rest[n + 1]) return this.#checksumError('erase checksum');
            for (const p of pages) this.flash.fill(0xff, p * this.pageSize, (p + 1) * this.pageSize);
            this.log.push(`erase pages ${pages.join(',')}`);
            this.#send(ACK);
          });
        });
        break;
      case 0x21:
        this.#address((address) => {
          this.log.push(`go ${hex32(address)}`);
          this.#send(ACK);
          this.goAddress = address;
          this.state = 'running';
        });
        break;
      default:
        this.violations.push(`offered command 0x${code.toString(16)} has no model`);
    }
  }

  #address(then: (address: number) => void): void {
    this.#expect(5, (b) => {
      const sum = (b[0] ?? 0) ^ (b[1] ?? 0) ^ (b[2] ?? 0) ^ (b[3] ?? 0);
      if (sum !== b[4]) return this.#checksumError('address checksum');
      const address = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
      const offset = address - this.flashBase;
      if (offset < 0 || offset >= this.flash.length) return this.#nack(`address ${hex32(address)} outside flash`);
      this.#send(ACK);
      then(address);
    });
  }

  #expect(n: number, handler: Handler): void {
    this.state = 'busy';
    this.#need = n;
    this.#handler = handler;
  }

  #program(address: number, data: Uint8Array): void {
    const offset = address - this.flashBase;
    data.forEach((b, i) => {
      const at = offset + i;
      if (this.flash[at] !== 0xff && b !== 0xff) this.violations.push(`programming ${hex32(address + i)} which is not erased`);
      this.flash[at] = this.#stuck.get(address + i) ?? b;
    });
  }

  #read(address: number, n: number): Uint8Array {
    const offset = address - this.flashBase;
    return this.flash.slice(offset, offset + n);
  }

  #checksumError(what: string): void {
    if (this.tolerateChecksumErrors > 0) this.tolerateChecksumErrors--;
    else this.violations.push(`unexpected bad ${what}`);
    this.#nack(what);
  }

  #nack(why: string): void {
    this.log.push(`nack ${why}`);
    this.#send(NACK);
  }

  #send(...bytes: number[]): void {
    void this.#link.write(Uint8Array.from(bytes));
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
