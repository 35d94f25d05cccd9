// The host side used by the bench tests: opens the bench's pty with serialport like the
// gateway does, and speaks the link protocol and AN3155 with its own small codec. It
// deliberately shares no code with src/ (the flasher under test) nor with the bench.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Only bounds how long a failing test waits; generous because the machine is shared. */
export const REPLY_TIMEOUT_MS = 10_000;

/** Builds firmware into a fresh directory: make -C hardware <target> VERSION=<v>. */
export function buildFirmware(buildDirectory: string, version: string, target = 'all', extra: string[] = []): void {
  execFileSync('make', ['-s', '-C', path.join(REPO_ROOT, 'hardware'), target, `VERSION=${version}`,
    `BUILD_DIR=${buildDirectory}`, ...extra], { stdio: 'pipe' });
}

export function temporaryDirectory(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `edgepilot-test-${label}-`));
}

// ---------------------------------------------------------------- link frames
export interface Frame {
  type: number;
  seq: number;
  payload: Buffer;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function encode(type: number, seq: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const body = Buffer.from([payload.length, type, seq, ...payload]);
  const crc = crc16(body);
  return Buffer.from([0xa5, ...body, crc >> 8, crc & 0xff]);
}

/**
 * Pulls every valid frame out of `bytes` (resync: drop only the SOF on a bad frame).
 * `final`: no more bytes will come, so an unfinished frame is garbage too.
 */
export function decodeAll(bytes: number[], final = false): { frames: Frame[]; rest: number[] } {
  const frames: Frame[] = [];
  let start = 0;
  while (start < bytes.length) {
    if (bytes[start] !== 0xa5) { start++; continue; }
    const length = bytes[start + 1];
    if (length === undefined && !final) break;
    if (length === undefined || length > 64) { start++; continue; }
    if (bytes.length - start < length + 6) {
      if (!final) break;
      start++;
      continue;
    }
    const candidate = Buffer.from(bytes.slice(start, start + length + 6));
    const crc = crc16(candidate.subarray(1, length + 4));
    if (candidate.readUInt16BE(length + 4) === crc) {
      frames.push({ type: candidate[2] ?? 0, seq: candidate[3] ?? 0, payload: candidate.subarray(4, 4 + length) });
      start += length + 6;
    } else {
      start++;
    }
  }
  return { frames, rest: bytes.slice(start) };
}

export interface Identity {
  protocol: number;
  version: string;
  serial: string;
  model: string;
  application: string;
}

export function parseIdentity(payload: Buffer): Identity {
  const modelLength = payload[12] ?? 0;
  const applicationLength = payload[13 + modelLength] ?? 0;
  return {
    protocol: payload[0] ?? -1,
    version: `${payload[1]}.${payload[2]}.${payload[3]}`,
    serial: payload.subarray(4, 12).toString('hex'),
    model: payload.subarray(13, 13 + modelLength).toString('ascii'),
    application: payload.subarray(14 + modelLength, 14 + modelLength + applicationLength).toString('ascii'),
  };
}

export interface Telemetry {
  millis: number;
  channels: Map<number, number>;
}

export function parseTelemetry(payload: Buffer): Telemetry {
  const channels = new Map<number, number>();
  const count = payload[4] ?? 0;
  for (let index = 0; index < count; index++) {
    channels.set(payload[5 + index * 3] ?? 0, payload.readInt16LE(6 + index * 3));
  }
  return { millis: payload.readUInt32LE(0), channels };
}

// ---------------------------------------------------------------- the port
export class HostPort {
  private readonly port: SerialPort;
  private received: number[] = [];
  private frames: Frame[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  /** Every byte ever received, for checks on what travelled the line. */
  readonly log: number[] = [];

  private constructor(port: SerialPort) {
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      this.received.push(...chunk);
      this.log.push(...chunk);
      this.wake?.();
    });
    port.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    port.on('error', () => undefined);
  }

  static open(portPath: string): Promise<HostPort> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: portPath, baudRate: 115200, autoOpen: false });
      port.open((error) => (error ? reject(error) : resolve(new HostPort(port))));
    });
  }

  write(bytes: Uint8Array | number[]): void {
    this.port.write(Buffer.from(bytes));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }

  /** Discards everything received so far. */
  drain(): void {
    this.received = [];
    this.frames = [];
  }

  /** Waits until nothing has arrived for `quietMs`, then discards it all (like a flasher's input flush). */
  async settle(quietMs = 150): Promise<void> {
    while (await this.waitForData(Date.now() + quietMs)) {
      // something arrived: keep waiting for quiet
    }
    this.drain();
  }

  private waitForData(deadline: number): Promise<boolean> {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(false); }, remaining);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(true); };
    });
  }

  /** Raw bytes (bootloader mode). Rejects on timeout. */
  async readBytes(count: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (!(await this.waitForData(deadline))) {
        throw new Error(`timed out waiting for ${count} bytes, have [${this.received.map((b) => b.toString(16))}]`);
      }
    }
    return this.received.splice(0, count);
  }

  /** Resolves undefined when nothing arrives within `timeoutMs`. */
  async maybeReadByte(timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (!(await this.waitForData(deadline))) return undefined;
    }
    return this.received.shift();
  }

  /** The next frame matching `accept`; frames that do not match are discarded. */
  async nextFrame(accept: (frame: Frame) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { frames, rest } = decodeAll(this.received);
      this.received = rest;
      this.frames.push(...frames);
      const index = this.frames.findIndex(accept);
      if (index >= 0) {
        const [frame] = this.frames.splice(0, index + 1).slice(-1);
        return frame;
      }
      this.frames = [];
      if (!(await this.waitForData(deadline))) return undefined;
    }
  }

  /** Sends a request and waits for the response (type | 0x80) or an ERROR with its seq. */
  async request(type: number, seq: number, payload: Uint8Array = Buffer.alloc(0), timeoutMs = REPLY_TIMEOUT_MS): Promise<Frame | undefined> {
    this.write(encode(type, seq, payload));
    return this.nextFrame((frame) => frame.seq === seq && (frame.type === (type | 0x80) || frame.type === 0x7f), timeoutMs);
  }
}

export function readIntelHexImage(file: string, base: number, size: number): Buffer {
  const image = Buffer.alloc(size, 0xff);
  let upper = 0;
  for (const line of readFileSync(file, 'latin1').split(/\r?\n/)) {
    if (!line.startsWith(':')) continue;
    const record = Buffer.from(line.slice(1), 'hex');
    const type = record[3];
    const data = record.subarray(4, 4 + (record[0] ?? 0));
    if (type === 0x04) upper = data.readUInt16BE(0) << 16;
    if (type === 0x00) data.copy(image, upper + record.readUInt16BE(1) - base);
  }
  return image;
}

/** Expected pitch/roll per PROTOCOL.md with the JS reference Math.round(deg * 100). */
export const GENERATOR = {
  x: [0, 500, -500, 0, 707, -707, 259, 0],
  y: [0, 0, 0, 500, 0, 707, -259, 866],
  z: [1000, 866, 866, 866, 707, 0, 930, 500],
} as const;

export function expectedTilt(index: number): { pitch: number; roll: number } {
  const ax = GENERATOR.x[index % 8] ?? 0;
  const ay = GENERATOR.y[index % 8] ?? 0;
  const az = GENERATOR.z[index % 8] ?? 0;
  const degrees = (radians: number): number => (radians * 180) / Math.PI;
  return {
    pitch: Math.round(degrees(Math.atan2(-ax, Math.sqrt(ay * ay + az * az))) * 100),
    roll: Math.round(degrees(Math.atan2(ay, az)) * 100),
  };
}
