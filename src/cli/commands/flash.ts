import { Command } from 'commander';
import { flashStreamLineSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { confirmOrRefuse } from '../confirm.js';
import { CliError } from '../errors.js';
import { parseMcuAddress } from '../mcu-address.js';
import { FlashProgressView } from '../output/flash-progress.js';
import { parsePositiveInt } from '../parse.js';
import { parsePowerControl, POWER_CONTROL_NAMES } from '../../firmware/update/power-control.js';

interface FlashOptions {
  image?: string;
  force?: boolean;
  port?: string;
  baud: string;
  trustKey: string[];
  bootTimeout: string;
  unprotect?: boolean;
  yes?: boolean;
  verify: string;
  power?: string;
}

export function flashCommand(): Command {
  return new Command('flash')
    .description("Flash an MCU's firmware through its gateway, or directly over a serial port on site")
    .argument('<target>', '<gateway>/<mcu> (through the hub), or a signed bundle .epfw with --port')
    .option('--image <sha|version>', 'image from the hub store: sha256 (or 8+ digit prefix) or version for the MCU model')
    .option('--force', 'allow a downgrade or flashing the running version again (never skips signature, hash or target checks)')
    .option('--port <tty>', 'flash locally over this serial port, without a hub')
    .option('--baud <rate>', 'line rate for --port', '115200')
    .option('--trust-key <pem>', 'public key accepted for --port flashing (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--boot-timeout <seconds>', 'for --port: how long the new firmware gets to identify before the old one is restored', '10')
    .option('--unprotect', "remove the MCU's readout protection first (AN3155 Readout Unprotect): this ERASES THE WHOLE FLASH, so the running firmware can not be restored; asks for confirmation")
    .option('--verify <how>', "crc: compare the CRC-32 the new firmware reports (read back only if it cannot); readback: read the whole flash back", 'crc')
    .option('--power <how>', 'for --port, an MCU whose loader runs only after power-on (STC89): dtr or rts (the line switches its power off while asserted), dtr-inverted, rts-inverted, or ask (you are prompted to switch it off and on; the default)')
    .option('--yes', 'confirm --unprotect without asking (needed when there is no terminal)')
    .addHelpText(
      'after',
      `
The gateway checks signature, hash, target and version against its own trusted keys before it
touches the MCU, keeps the running image, and restores it if the new one does not identify.
Progress goes to stderr; the outcome to stdout. A failed or rolled-back flash exits non-zero.

Examples:
  edgepilot flash rk3588-line2-4k7qz/stm32f103-0123456789abcdef --image 1.2.0
  edgepilot flash rk3588-line2-4k7qz/stm32f103-0123456789abcdef --image 3fa9c2e1 --force
  edgepilot flash --port /dev/ttyUSB0 stm32f103-1.2.0.epfw --trust-key firmware-signing.pub
  edgepilot flash rk3588-line2-4k7qz/stm32f103-0123456789abcdef --image 1.2.0 --unprotect
  edgepilot flash --port /dev/ttyUSB1 stc89c52-1.2.0.epfw --trust-key firmware-signing.pub --power dtr

A read-protected STM32 (readout protection set in its option bytes) refuses every read and
write through its bootloader; the flash fails with a message saying so and the MCU stays in
its bootloader until it is reset. --unprotect removes the protection, which erases the whole
flash first; the chip then resets, and must come back into its bootloader (BOOT0 held high)
for the flash to go on.

An STC89C52's ISP loader runs only in the first moments after power-on, while sync pulses
arrive: the flasher sends them and switches the chip's power off and on through the port's
DTR or RTS line (--power, or the gateway's --mcu-power), or asks you to do it (ask).`,
    )
    .action(async (target: string, options: FlashOptions, command: Command) => {
      const view = new FlashProgressView(process.stderr, process.stderr.isTTY === true);
      if (options.verify !== 'crc' && options.verify !== 'readback') throw new CliError(`--verify must be crc or readback, got "${options.verify}"`);
      if (options.power !== undefined && options.port === undefined) throw new CliError('--power is for --port flashing; a gateway uses its own --mcu-power');
      if (options.power !== undefined && parsePowerControl(options.power) === undefined) throw new CliError(`--power must be one of ${POWER_CONTROL_NAMES.join(', ')}, got "${options.power}"`);
      if (options.yes === true && options.unprotect !== true) throw new CliError('--yes confirms --unprotect; it means nothing without it');
      if (options.unprotect === true) {
        await confirmOrRefuse(
          `--unprotect: if ${options.port ?? target} is read-protected, its whole flash is erased before flashing and the running firmware can not be restored. Go on?`,
          options.yes === true,
          '--unprotect erases the whole flash of a read-protected MCU: confirm with --yes (there is no terminal to ask on)',
        );
      }
      if (options.port !== undefined) return flashLocal(target, options, view);
      if (!options.image) throw new CliError('--image <sha|version> is required (or --port <tty> with a bundle for local flashing)');
      const { gateway, mcu } = parseMcuAddress(target);
      const client = await hubClientFor(command);
      let finished = false;
      for await (const raw of client.stream(`/v1/mcus/${gateway}/${mcu}/flash`, 'POST', {
        image: options.image,
        force: options.force ?? false,
        ...(options.unprotect === true ? { unprotect: true } : {}),
        ...(options.verify === 'readback' ? { verify: 'readback' } : {}),
      })) {
        const parsed = flashStreamLineSchema.safeParse(raw);
        if (!parsed.success) continue; // a newer hub's line type: nothing we can show
        const line = parsed.data;
        switch (line.type) {
          case 'resolved':
            view.note(`flashing ${line.gateway}/${line.mcu} with ${line.target} ${line.version} (${line.sha256.slice(0, 12)})`);
            break;
          case 'progress':
            view.progress(line.step, line.done, line.total);
            break;
          case 'note':
            view.note(line.message);
            break;
          case 'result':
            view.endLine();
            print(`${gateway}/${line.mcu}: ${line.previousVersion ?? 'unknown'} → ${line.version} (${line.bytesWritten} bytes written, ${line.retries} retries)`);
            finished = true;
            break;
          case 'error':
            view.endLine();
            throw new CliError(line.message);
        }
      }
      if (!finished) throw new CliError('the hub ended the flash stream without a result');
    });
}

async function flashLocal(bundleFile: string, options: FlashOptions, view: FlashProgressView): Promise<void> {
  if (options.image) throw new CliError('--image picks from the hub store; with --port give a bundle file instead');
  if (options.trustKey.length === 0) throw new CliError('--trust-key <pem> is required with --port: the bundle is checked like a gateway checks it');
  const { flashOverSerial } = await import('../local-flash/main.js');
  const result = await flashOverSerial({
    port: options.port ?? '',
    baud: parsePositiveInt(options.baud, '--baud'),
    bundleFile,
    trustKeyFiles: options.trustKey,
    force: options.force ?? false,
    bootTimeoutMs: parsePositiveInt(options.bootTimeout, '--boot-timeout') * 1000,
    unprotect: options.unprotect === true,
    verify: options.verify === 'readback' ? 'readback' : 'crc',
    power: parsePowerControl(options.power ?? 'ask') ?? { kind: 'technician' },
    onProgress: (step, done, total) => view.progress(step, done, total),
    onNote: (message) => view.note(message),
  });
  view.endLine();
  const { outcome } = result;
  if (outcome.kind !== 'updated') throw new CliError(outcome.message);
  print(`${result.mcuId}: ${outcome.previousVersion ?? 'unknown'} → ${outcome.identity.firmwareVersion} (${outcome.bytesWritten} bytes written, ${outcome.retries} retries)`);
}
