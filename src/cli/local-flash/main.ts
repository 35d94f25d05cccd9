/**
 * Composition root of on-site flashing (`edgepilot flash --port <tty> <bundle>`): the only
 * CLI code that opens a serial port. It runs the same admission and the same updater as a
 * gateway (src/firmware/update), with the technician's own trusted keys, and keeps the
 * image to restore under the CLI's data folder, per chip.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataHome } from '../../common/paths.js';
import { createSystemClock, DEFAULT_REOPEN_ATTEMPTS, DEFAULT_REOPEN_DELAY_MS, McuSession, serialPortLink, SwitchableLink, type ByteLink, type Clock, type Identity } from '../../firmware/index.js';
import { admitFirmware, FileImageKeeper, flashGeometryFor, updateMcu, type PowerControl, type UpdateOutcome, type UpdateStep } from '../../firmware/update/index.js';
import { mcuIdFor } from '../../firmware/update/mcu-id.js';
import { CliError } from '../errors.js';
import { readBundle } from '../firmware/bundle.js';
import { errorMessage } from '../../common/errors.js';

export interface LocalFlashOptions {
  readonly port: string;
  readonly baud: number;
  readonly bundleFile: string;
  readonly trustKeyFiles: readonly string[];
  readonly force: boolean;
  readonly bootTimeoutMs: number;
  /** Confirmed by the technician: remove readout protection (erases the whole flash). */
  readonly unprotect: boolean;
  readonly verify: 'crc' | 'readback';
  /** How the MCU is power-cycled into a loader that runs only after power-on (STC89). */
  readonly power: PowerControl;
  readonly onProgress: (step: UpdateStep, done: number, total: number) => void;
  readonly onNote: (message: string) => void;
}

export interface LocalFlashResult {
  readonly mcuId: string;
  readonly outcome: UpdateOutcome;
  readonly version: string;
}

export async function flashOverSerial(options: LocalFlashOptions): Promise<LocalFlashResult> {
  const { bundle, bytes } = await readBundle(options.bundleFile);
  const trustedKeys = await Promise.all(options.trustKeyFiles.map((file) => readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read --trust-key ${file}: ${err.code ?? err.message}`);
  })));
  const clock = createSystemClock();
  const link = await openPort(options.port, options.baud, clock);
  try {
    const identity = await identify(link, clock);
    if (!identity) throw new CliError(`no MCU identified on ${options.port} (wrong port or line rate? an MCU stuck in its bootloader is recovered through its gateway)`);
    const mcuId = mcuIdFor(identity);
    options.onNote(`${mcuId}: ${identity.model} ${identity.application} running ${identity.firmwareVersion}`);
    const geometry = flashGeometryFor(identity.model);
    const admission = admitFirmware({
      manifest: bundle.manifest,
      signature: bundle.signature,
      bytes,
      trustedKeys,
      model: identity.model,
      geometry,
      currentVersion: identity.firmwareVersion,
      force: options.force,
    });
    if (!admission.ok) throw new CliError(`refused ${bundle.manifest.version} (${admission.reason}): ${admission.message}`);
    if (!geometry) throw new CliError(`no flash layout for ${identity.model}`);
    const keeper = new FileImageKeeper(join(dataHome(), 'edgepilot', 'flash'));
    const outcome = await updateMcu(
      {
        link,
        clock,
        geometry,
        keeper,
        mcuId,
        runningVersion: identity.firmwareVersion,
        bootTimeoutMs: options.bootTimeoutMs,
        onProgress: options.onProgress,
        onNote: options.onNote,
        unprotect: options.unprotect,
        verify: options.verify,
        power: options.power,
        port: options.port,
        applicationBaud: options.baud,
      },
      admission.image,
      admission.manifest.version,
    );
    return { mcuId, outcome, version: admission.manifest.version };
  } finally {
    await link.close().catch(() => undefined);
  }
}

/** 8N1 for the application; the flasher switches to 8E1 for the AN3155 bootloader. */
async function openPort(path: string, baudRate: number, clock: Clock): Promise<ByteLink> {
  const { SerialPort } = await import('serialport');
  const retry = { clock, attempts: DEFAULT_REOPEN_ATTEMPTS, delayMs: DEFAULT_REOPEN_DELAY_MS };
  return SwitchableLink.open(async (parity) => {
    const port = new SerialPort({ path, baudRate, parity, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new CliError(`cannot open ${path}: ${errorMessage(err)}`);
    }
    return serialPortLink(port);
  }, 'none', retry);
}

/** IDENTIFY a few times: an MCU may be busy sending telemetry or just booting. */
async function identify(link: ByteLink, clock: Clock): Promise<Identity | undefined> {
  const session = new McuSession({ link, clock, requestTimeoutMs: 500, retries: 4 });
  try {
    return await session.identify();
  } catch {
    return undefined;
  } finally {
    session.close();
  }
}
