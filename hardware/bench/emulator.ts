// Starts the emulator that runs the MCU firmware, its UART wired to the bench
// (uart-channel.ts says why QEMU gets a socket and s51 a pty):
//  - STM32F103 image on QEMU's stm32vldiscovery (STM32F100: same USART1 at 0x40013800).
//    The raw flash image is loaded with -kernel at address 0, the alias of flash.
//  - STC89C52 image on ucsim's s51 as a C52 at 11.0592 MHz. uart0_check_often makes the
//    simulator poll the serial line every cycle batch (otherwise each received byte
//    takes ~200 ms); uart0_flowctrl stops it from dropping bytes and from treating 0x18
//    as an escape into its command menu. Both commands run before the image loads,
//    which is why the image is started with -g. s51 does not exit on EOF: stop by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stopChild } from './pty-pair.js';
import type { EmulatorKind } from './profile.js';

export interface EmulatorLaunch {
  readonly kind: EmulatorKind;
  /** Boot image: raw flash (qemu) or Intel HEX (s51). */
  readonly imagePath: string;
  /** The emulated UART's other end: a Unix socket (QEMU) or a pty (s51). */
  readonly uartEndpoint: string;
  readonly workDirectory: string;
  readonly coreClockHz: number;
}

export interface RunningEmulator {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines the emulator printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function commandLine(launch: EmulatorLaunch): { program: string; args: string[] } {
  if (launch.kind === 'qemu') {
    return {
      program: 'qemu-system-arm',
      args: [
        '-M', 'stm32vldiscovery', '-nographic', '-monitor', 'none',
        '-kernel', launch.imagePath,
        // The first -serial is USART1; the chardev connects to the bench's socket.
        '-chardev', `socket,id=u1,path=${launch.uartEndpoint}`, '-serial', 'chardev:u1',
      ],
    };
  }
  const commandFile = path.join(launch.workDirectory, 's51-setup.cmd');
  writeFileSync(commandFile, 'expression uart0_check_often=1\nexpression uart0_flowctrl=1\n');
  const megahertz = (launch.coreClockHz / 1e6).toString();
  return {
    program: 's51',
    args: [
      '-t', 'C52', '-X', `${megahertz}M`,
      '-S', `in=${launch.uartEndpoint},out=${launch.uartEndpoint}`,
      '-C', commandFile, '-g', launch.imagePath,
    ],
  };
}

export function startEmulator(launch: EmulatorLaunch): Promise<RunningEmulator> {
  const { program, args } = commandLine(launch);
  const child: ChildProcess = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let recent = '';
  const keep = (chunk: Buffer): void => {
    recent = (recent + chunk.toString('utf8')).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const exitedVoid = exited.then(() => undefined);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => {
      const pid = child.pid;
      if (pid === undefined) {
        reject(new Error(`${program} has no pid`));
        return;
      }
      resolve({
        pid,
        exited,
        output: () => recent,
        stop: () => stopChild(child, exitedVoid),
      });
    });
  });
}
