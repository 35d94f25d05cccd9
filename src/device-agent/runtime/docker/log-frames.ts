import { StringDecoder } from 'node:string_decoder';
import type { LogLine } from '../runtime.js';

type StreamName = LogLine['stream'];

/** `2025-11-25T18:11:49.123456789Z ` — what Docker prefixes each message with when timestamps are on. */
const TIMESTAMP_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;

interface PartialLine {
  text: string;
  time: Date | undefined;
  decoder: StringDecoder;
}

/**
 * Turns Docker's multiplexed log stream into lines. Each frame is an 8-byte header (byte 0: 1 =
 * stdout, 2 = stderr; bytes 4–7: payload length, big-endian) and a payload; frames arrive split
 * and merged arbitrarily across chunks. Docker splits messages over 16 KiB into several frames,
 * so text is kept per stream until its newline arrives.
 */
export class DockerLogDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly partial: Record<StreamName, PartialLine> = {
    stdout: { text: '', time: undefined, decoder: new StringDecoder('utf8') },
    stderr: { text: '', time: undefined, decoder: new StringDecoder('utf8') },
  };
  /** Set when the bytes are not multiplexed (a TTY container); everything is then stdout. */
  private raw = false;

  constructor(private readonly timestamps: boolean) {}

  push(chunk: Buffer): LogLine[] {
    if (this.raw) return this.text('stdout', chunk);
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const lines: LogLine[] = [];
    while (this.buffer.length >= 8) {
      const kind = this.buffer[0];
      if (kind !== 0 && kind !== 1 && kind !== 2) {
        this.raw = true;
        lines.push(...this.text('stdout', this.buffer));
        this.buffer = Buffer.alloc(0);
        break;
      }
      const length = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + length) break;
      const payload = this.buffer.subarray(8, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      lines.push(...this.text(kind === 2 ? 'stderr' : 'stdout', payload));
    }
    return lines;
  }

  /** The last unterminated line of each stream, once the stream has ended. */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const partial = this.partial[stream];
      partial.text += partial.decoder.end();
      if (partial.text !== '') lines.push(this.line(stream, partial.text, partial.time));
      partial.text = '';
    }
    return lines;
  }

  private text(stream: StreamName, payload: Buffer): LogLine[] {
    const partial = this.partial[stream];
    let text = partial.decoder.write(payload);
    let time: Date | undefined;
    if (this.timestamps) {
      const match = TIMESTAMP_PREFIX.exec(text);
      if (match?.[1] !== undefined) {
        time = new Date(match[1]);
        text = text.slice(match[0].length);
      }
    }
    if (partial.text === '') partial.time = time;
    const pieces = (partial.text + text).split('\n');
    partial.text = pieces.pop() ?? '';
    const lines = pieces.map((piece, index) => this.line(stream, piece, index === 0 ? partial.time : time));
    if (pieces.length > 0) partial.time = time;
    return lines;
  }

  private line(stream: StreamName, text: string, time: Date | undefined): LogLine {
    const withoutCr = text.endsWith('\r') ? text.slice(0, -1) : text;
    return time !== undefined && !Number.isNaN(time.getTime()) ? { stream, text: withoutCr, time } : { stream, text: withoutCr };
  }
}
