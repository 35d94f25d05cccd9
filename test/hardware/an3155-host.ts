// A minimal AN3155 host for the bench tests, written from the application note (not
// from src/): each call sends one command and returns what the bootloader answered.
import type { HostPort } from './bench-host.js';

export const ACK = 0x79;
export const NACK = 0x1f;

const xor = (bytes: number[]): number => bytes.reduce((sum, byte) => sum ^ byte, 0);
const addressBytes = (address: number): number[] =>
  [(address >>> 24) & 0xff, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];

export class An3155Host {
  constructor(private readonly port: HostPort) {}

  async sync(): Promise<number> {
    this.port.write([0x7f]);
    return this.reply();
  }

  private async reply(): Promise<number> {
    const [byte] = await this.port.readBytes(1);
    if (byte === undefined) throw new Error('no reply');
    return byte;
  }

  /** Sends code + complement; returns the bootloader's first answer. */
  async command(code: number): Promise<number> {
    this.port.write([code, code ^ 0xff]);
    return this.reply();
  }

  async get(): Promise<{ version: number; commands: number[] }> {
    if ((await this.command(0x00)) !== ACK) throw new Error('Get NACKed');
    const [count = 0] = await this.port.readBytes(1);
    const [version = 0, ...commands] = await this.port.readBytes(count + 1);
    if ((await this.reply()) !== ACK) throw new Error('Get not closed by ACK');
    return { version, commands };
  }

  async getId(): Promise<number> {
    if ((await this.command(0x02)) !== ACK) throw new Error('Get ID NACKed');
    const [count = 0] = await this.port.readBytes(1);
    const pid = await this.port.readBytes(count + 1);
    if ((await this.reply()) !== ACK) throw new Error('Get ID not closed by ACK');
    return pid.reduce((value, byte) => (value << 8) | byte, 0);
  }

  /** Returns the data, or the step that was NACKed. */
  async readMemory(address: number, length: number): Promise<number[] | 'nack-command' | 'nack-address' | 'nack-length'> {
    if ((await this.command(0x11)) !== ACK) return 'nack-command';
    const address4 = addressBytes(address);
    this.port.write([...address4, xor(address4)]);
    if ((await this.reply()) !== ACK) return 'nack-address';
    this.port.write([length - 1, (length - 1) ^ 0xff]);
    if ((await this.reply()) !== ACK) return 'nack-length';
    return this.port.readBytes(length);
  }

  async writeMemory(address: number, data: number[]): Promise<'ack' | 'nack-command' | 'nack-address' | 'nack-data'> {
    if ((await this.command(0x31)) !== ACK) return 'nack-command';
    const address4 = addressBytes(address);
    this.port.write([...address4, xor(address4)]);
    if ((await this.reply()) !== ACK) return 'nack-address';
    const body = [data.length - 1, ...data];
    this.port.write([...body, xor(body)]);
    return (await this.reply()) === ACK ? 'ack' : 'nack-data';
  }

  /** Extended Erase (0x44) of a page list, or 'mass' (0xFFFF). */
  async extendedErase(pages: number[] | 'mass'): Promise<'ack' | 'nack-command' | 'nack'> {
    if ((await this.command(0x44)) !== ACK) return 'nack-command';
    const body = pages === 'mass'
      ? [0xff, 0xff]
      : [((pages.length - 1) >> 8) & 0xff, (pages.length - 1) & 0xff, ...pages.flatMap((page) => [page >> 8, page & 0xff])];
    this.port.write([...body, xor(body)]);
    return (await this.reply()) === ACK ? 'ack' : 'nack';
  }

  /** Erase (0x43, AN3155 §3.7): one-byte page numbers, or 'mass' (global erase: FF 00). */
  async erase(pages: number[] | 'mass'): Promise<'ack' | 'nack-command' | 'nack'> {
    if ((await this.command(0x43)) !== ACK) return 'nack-command';
    this.port.write(pages === 'mass' ? [0xff, 0x00] : [pages.length - 1, ...pages, xor([pages.length - 1, ...pages])]);
    return (await this.reply()) === ACK ? 'ack' : 'nack';
  }

  /** Readout Protect (0x82) or Unprotect (0x92), AN3155 §3.11/§3.12: ACK, then ACK when done. */
  async readout(protect: boolean): Promise<'ack' | 'nack-command' | 'nack'> {
    if ((await this.command(protect ? 0x82 : 0x92)) !== ACK) return 'nack-command';
    return (await this.reply()) === ACK ? 'ack' : 'nack';
  }

  async go(address: number): Promise<'ack' | 'nack-command' | 'nack-address'> {
    if ((await this.command(0x21)) !== ACK) return 'nack-command';
    const address4 = addressBytes(address);
    this.port.write([...address4, xor(address4)]);
    return (await this.reply()) === ACK ? 'ack' : 'nack-address';
  }

  /** Erase (0x43 or 0x44, as Get lists) the pages `image` covers, write it in 256-byte blocks, read it back. */
  async flash(base: number, pageSize: number, image: Buffer): Promise<void> {
    const pages = Array.from({ length: Math.ceil(image.length / pageSize) }, (_, page) => page);
    // Whichever erase Get lists (a bootloader has one of the two, AN3155 §3).
    const { commands } = await this.get();
    const erased = commands.includes(0x44) ? await this.extendedErase(pages) : await this.erase(pages);
    if (erased !== 'ack') throw new Error('erase NACKed');
    for (let offset = 0; offset < image.length; offset += 256) {
      const block = [...image.subarray(offset, offset + 256)];
      while (block.length % 4 !== 0) block.push(0xff); // AN3155: writes are whole words
      const result = await this.writeMemory(base + offset, block);
      if (result !== 'ack') throw new Error(`write at +${offset}: ${result}`);
    }
    for (let offset = 0; offset < image.length; offset += 256) {
      const length = Math.min(256, image.length - offset);
      const back = await this.readMemory(base + offset, length);
      if (typeof back === 'string' || !Buffer.from(back).equals(image.subarray(offset, offset + length))) {
        throw new Error(`verify at +${offset} failed`);
      }
    }
  }
}
