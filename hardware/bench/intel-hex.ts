// Intel HEX reader and writer for the bench (its own, independent of the flasher's
// parser in src/, which this bench exists to check). Record types: 00 data, 01 end of
// file, 02 extended segment address, 04 extended linear address; 03/05 (start
// address) are accepted and ignored, as programmers do.

export interface MemorySegment {
  readonly address: number;
  readonly bytes: Uint8Array;
}

const RECORD_DATA = 0x00;
const RECORD_EOF = 0x01;
const RECORD_EXTENDED_SEGMENT = 0x02;
const RECORD_START_SEGMENT = 0x03;
const RECORD_EXTENDED_LINEAR = 0x04;
const RECORD_START_LINEAR = 0x05;

export function parseIntelHex(text: string): MemorySegment[] {
  const segments: MemorySegment[] = [];
  let upperAddress = 0;
  let sawEof = false;
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '') continue;
    const where = `Intel HEX line ${index + 1}`;
    if (!line.startsWith(':') || line.length < 11 || line.length % 2 !== 1) {
      throw new Error(`${where}: not a record`);
    }
    const record = Buffer.from(line.slice(1), 'hex');
    if (record.length * 2 !== line.length - 1) throw new Error(`${where}: bad hex digits`);
    const length = record[0] ?? 0;
    if (record.length !== length + 5) throw new Error(`${where}: length does not match`);
    const sum = record.reduce((total, byte) => (total + byte) & 0xff, 0);
    if (sum !== 0) throw new Error(`${where}: checksum mismatch`);
    const offset = record.readUInt16BE(1);
    const type = record[3];
    const data = record.subarray(4, 4 + length);
    if (sawEof) throw new Error(`${where}: data after the end-of-file record`);
    switch (type) {
      case RECORD_DATA:
        segments.push({ address: upperAddress + offset, bytes: new Uint8Array(data) });
        break;
      case RECORD_EOF:
        sawEof = true;
        break;
      case RECORD_EXTENDED_SEGMENT:
        upperAddress = data.readUInt16BE(0) * 16;
        break;
      case RECORD_EXTENDED_LINEAR:
        upperAddress = data.readUInt16BE(0) * 0x10000;
        break;
      case RECORD_START_SEGMENT:
      case RECORD_START_LINEAR:
        break;
      default:
        throw new Error(`${where}: unknown record type ${String(type)}`);
    }
  }
  if (!sawEof) throw new Error('Intel HEX: no end-of-file record');
  return segments;
}

function record(type: number, offset: number, data: Uint8Array): string {
  const bytes = Buffer.alloc(data.length + 5);
  bytes[0] = data.length;
  bytes.writeUInt16BE(offset & 0xffff, 1);
  bytes[3] = type;
  Buffer.from(data).copy(bytes, 4);
  const sum = bytes.subarray(0, data.length + 4).reduce((total, byte) => (total + byte) & 0xff, 0);
  bytes[data.length + 4] = (0x100 - sum) & 0xff;
  return `:${bytes.toString('hex').toUpperCase()}`;
}

/** Every byte of `bytes`, loaded at `baseAddress`, as 16-byte data records. */
export function formatIntelHex(baseAddress: number, bytes: Uint8Array): string {
  const lines: string[] = [];
  let currentUpper = -1;
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const address = baseAddress + offset;
    const upper = Math.floor(address / 0x10000);
    if (upper !== currentUpper && (upper !== 0 || currentUpper !== -1)) {
      lines.push(record(RECORD_EXTENDED_LINEAR, 0, Uint8Array.of(upper >> 8, upper & 0xff)));
    }
    currentUpper = upper;
    lines.push(record(RECORD_DATA, address & 0xffff, bytes.subarray(offset, Math.min(offset + 16, bytes.length))));
  }
  lines.push(record(RECORD_EOF, 0, new Uint8Array(0)));
  return `${lines.join('\n')}\n`;
}
