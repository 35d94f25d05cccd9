// The MCU's on-chip flash as the bootloader sees it: NOR cells that an erase sets to
// 0xFF page by page and that programming can only change from 1 to 0. The contents
// persist in a raw file (the whole flash, erased bytes included) so a bench restarted
// with the same --flash-file finds what the gateway last wrote.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseIntelHex } from './intel-hex.js';

export const ERASED_BYTE = 0xff;

export interface FlashGeometry {
  readonly base: number;
  readonly size: number;
  readonly pageSize: number;
}

export type ProgramResult = 'ok' | 'not-erased';

export class FlashMemory {
  readonly geometry: FlashGeometry;
  private readonly cells: Uint8Array;

  constructor(geometry: FlashGeometry, contents?: Uint8Array) {
    if (geometry.size % geometry.pageSize !== 0) throw new Error('flash size is not a whole number of pages');
    this.geometry = geometry;
    this.cells = new Uint8Array(geometry.size).fill(ERASED_BYTE);
    if (contents) {
      if (contents.length !== geometry.size) {
        throw new Error(`flash file holds ${contents.length} bytes, the part has ${geometry.size}`);
      }
      this.cells.set(contents);
    }
  }

  get pageCount(): number {
    return this.geometry.size / this.geometry.pageSize;
  }

  /** True when [address, address + length) lies inside the flash. */
  contains(address: number, length: number): boolean {
    const { base, size } = this.geometry;
    return length >= 0 && address >= base && address + length <= base + size;
  }

  read(address: number, length: number): Uint8Array {
    if (!this.contains(address, length)) throw new RangeError('read outside flash');
    const offset = address - this.geometry.base;
    return this.cells.slice(offset, offset + length);
  }

  /** A copy of the whole flash. */
  snapshot(): Uint8Array {
    return this.cells.slice();
  }

  /**
   * Program like the hardware does: each cell becomes old AND new, because a write can
   * only clear bits. Writing over programmed bytes therefore corrupts them; the result
   * says whether every byte now holds what was asked (an STM32F1 flags PGERR then).
   */
  program(address: number, data: Uint8Array): ProgramResult {
    if (!this.contains(address, data.length)) throw new RangeError('program outside flash');
    const offset = address - this.geometry.base;
    let result: ProgramResult = 'ok';
    for (const [index, value] of data.entries()) {
      const merged = (this.cells[offset + index] ?? ERASED_BYTE) & value;
      this.cells[offset + index] = merged;
      if (merged !== value) result = 'not-erased';
    }
    return result;
  }

  erasePage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) throw new RangeError(`no page ${page}`);
    const start = page * this.geometry.pageSize;
    this.cells.fill(ERASED_BYTE, start, start + this.geometry.pageSize);
  }

  eraseAll(): void {
    this.cells.fill(ERASED_BYTE);
  }

  /** Factory programming of an image file: erase everything, then write the image. */
  loadImageFile(file: string): void {
    this.eraseAll();
    for (const segment of readImageSegments(file, this.geometry.base)) {
      if (!this.contains(segment.address, segment.bytes.length)) {
        throw new Error(`${file}: data at 0x${segment.address.toString(16)} lies outside the flash`);
      }
      this.program(segment.address, segment.bytes);
    }
  }

  saveTo(file: string): void {
    // Write then rename, so a bench killed mid-write never leaves half a flash file.
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    writeFileSync(temporary, this.cells);
    renameSync(temporary, file);
  }

  static loadFrom(file: string, geometry: FlashGeometry): FlashMemory {
    return new FlashMemory(geometry, new Uint8Array(readFileSync(file)));
  }
}

/** Image files: Intel HEX (.hex, .ihx) carry addresses; a raw .bin starts at the flash base. */
export function readImageSegments(file: string, flashBase: number): { address: number; bytes: Uint8Array }[] {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.hex' || extension === '.ihx') {
    return parseIntelHex(readFileSync(file, 'latin1'));
  }
  if (extension === '.bin') {
    return [{ address: flashBase, bytes: new Uint8Array(readFileSync(file)) }];
  }
  throw new Error(`${file}: unknown image format (expected .hex, .ihx or .bin)`);
}
