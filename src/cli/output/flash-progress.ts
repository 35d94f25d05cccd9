/**
 * Flash progress on stderr. On a terminal: one bar per step, redrawn in place
 * (`write    [##########..........]  52%  33.3/64.0 KB`). Elsewhere (CI, pipes, files):
 * plain lines at 0, 25, 50, 75 and 100 % of each step, so logs stay readable.
 */
import type { FlashStep } from '../../protocol/index.js';

const WIDTH = 30;
const BYTE_STEPS = new Set<FlashStep>(['download', 'backup', 'write', 'verify', 'rollback']);

export class FlashProgressView {
  private step: FlashStep | undefined;
  private lastQuarter = -1;
  private drawn = false;

  constructor(
    private readonly out: { write(text: string): unknown },
    private readonly tty: boolean,
  ) {}

  progress(step: FlashStep, done: number, total: number): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const percent = Math.floor(fraction * 100);
    if (step !== this.step) {
      this.endLine();
      this.step = step;
      this.lastQuarter = -1;
    }
    const amount = BYTE_STEPS.has(step) ? `  ${kb(done)}/${kb(total)} KB` : '';
    if (this.tty) {
      const filled = Math.round(fraction * WIDTH);
      this.out.write(`\r${step.padEnd(9)}[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(percent).padStart(3)}%${amount}`);
      this.drawn = true;
      return;
    }
    const quarter = Math.floor(percent / 25);
    if (quarter === this.lastQuarter) return;
    this.lastQuarter = quarter;
    this.out.write(`${step} ${quarter * 25}%${amount}\n`);
  }

  note(message: string): void {
    this.endLine();
    this.out.write(`${message}\n`);
  }

  /** Finish a bar in progress so the next output starts on its own line. */
  endLine(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}
