// Incoming bytes as something a protocol model can `await`, one byte or N at a time,
// the way ROM code loops on "receive byte". cancel() aborts a pending read, which is
// how a reset throws the bootloader out of the middle of a command.

export class Cancelled extends Error {
  constructor() {
    super('byte queue cancelled');
    this.name = 'Cancelled';
  }
}

interface Waiter {
  readonly count: number;
  readonly resolve: (bytes: number[]) => void;
  readonly reject: (error: Error) => void;
}

export class ByteQueue {
  private readonly buffered: number[] = [];
  private waiter: Waiter | undefined;
  private cancelled = false;

  push(bytes: Uint8Array): void {
    if (this.cancelled) return;
    this.buffered.push(...bytes);
    this.settle();
  }

  readBytes(count: number): Promise<number[]> {
    if (this.cancelled) return Promise.reject(new Cancelled());
    if (this.waiter) return Promise.reject(new Error('only one reader at a time'));
    return new Promise((resolve, reject) => {
      this.waiter = { count, resolve, reject };
      this.settle();
    });
  }

  async readByte(): Promise<number> {
    const [byte] = await this.readBytes(1);
    if (byte === undefined) throw new Error('read returned nothing');
    return byte;
  }

  cancel(): void {
    this.cancelled = true;
    this.buffered.length = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(new Cancelled());
  }

  private settle(): void {
    const waiter = this.waiter;
    if (!waiter || this.buffered.length < waiter.count) return;
    this.waiter = undefined;
    waiter.resolve(this.buffered.splice(0, waiter.count));
  }
}
