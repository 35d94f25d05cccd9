// The STC89C52 on the bench with its ISP loader model and the DTR power line, shared by the
// model's own test (test/hardware) and the stcgal cross-check (test/reference): firmware 1.0.0
// running, 2.0.0 built beside it, and the modem-lines library a pty-side tool preloads for DTR.
import type { TestFn } from 'ava';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { startBench, type Bench } from '../../../hardware/bench/bench.js';
import { buildFirmware, temporaryDirectory } from '../bench-host.js';

export interface StcIspBench {
  /** The folder the bench's modem-lines listener watches (EDGEPILOT_BENCH_LINES). */
  readonly work: string;
  /** Where the firmware images and libmodemlines.so are built. */
  readonly build: string;
  readonly image: (version: string) => string;
  /** The running bench (throws before `test.before` has started it). */
  readonly ready: () => Bench;
}

/** Starts the bench in `test.before` and stops it (and removes its folder) in `test.after.always`. */
export function useStcIspBench(test: TestFn, label: string): StcIspBench {
  const work = temporaryDirectory(label);
  const build = path.join(work, 'build');
  const image = (version: string): string => path.join(build, `stc89c52-tilt-${version}.ihx`);
  let bench: Bench | undefined;
  test.before(async () => {
    buildFirmware(build, '1.0.0', 'stc89c52');
    buildFirmware(build, '2.0.0', 'stc89c52');
    buildFirmware(build, '0.0.0', 'modem-lines');
    bench = await startBench({
      mcu: 'stc89c52',
      image: image('1.0.0'),
      hostPath: path.join(work, 'tty-stc'),
      flashFile: path.join(work, 'flash-stc.bin'),
      powerLine: 'dtr',
      modemLinesDirectory: work,
    });
  });
  test.after.always(async () => {
    await bench?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work,
    build,
    image,
    ready: () => {
      if (!bench) throw new Error('bench not started');
      return bench;
    },
  };
}
