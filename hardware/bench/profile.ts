// Reads the MCU board profiles (hardware/profiles/*.json) that describe what the bench
// emulates: flash geometry, bootloader identity and timing, and which emulator runs it.
// The profiles are the single source of these numbers; the bench only validates them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export type McuModel = 'stm32f103' | 'stc89c52';
export const MCU_MODELS: readonly McuModel[] = ['stm32f103', 'stc89c52'];

export type EmulatorKind = 'qemu' | 's51';

export interface McuProfile {
  readonly model: McuModel;
  readonly profileName: string;
  readonly flashBase: number;
  readonly flashSize: number;
  readonly pageSize: number;
  readonly productId: number;
  readonly bootloaderVersion: number;
  /** The erase command of the chip's bootloader: 0x43 (STM32F10x ROM) or 0x44 (later ones). */
  readonly bootloaderErase: 0x43 | 0x44;
  readonly pageEraseMs: number;
  readonly massEraseMs: number;
  readonly programMicrosPerByte: number;
  readonly emulator: EmulatorKind;
  /** Which loader the chip has; stc89-isp carries its status-frame identity in `isp`. */
  readonly bootloaderProtocol: 'an3155' | 'stc89-isp';
  readonly isp?: {
    readonly magic: number;
    readonly version: number;
    readonly stepping: string;
    readonly options: number;
    readonly handshakeBaud: number;
    readonly powerOnWindowMs: number;
  };
  readonly coreClockHz: number;
}

const PROFILE_FILE: Record<McuModel, string> = {
  stm32f103: 'stm32f103-node.json',
  stc89c52: 'stc89c52-tilt.json',
};

/** hardware/profiles, found from this file whether it runs from source or from dist/. */
export function profilesDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Compiled: dist/hardware/bench/ -> ../../../hardware/profiles; source: ../profiles.
  const fromSource = path.resolve(here, '../profiles');
  return existsSync(fromSource) ? fromSource : path.resolve(here, '../../../hardware/profiles');
}

export function isMcuModel(value: string): value is McuModel {
  return (MCU_MODELS as readonly string[]).includes(value);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function field(object: Json | undefined, key: string, where: string): Json {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw new Error(`profile ${where}: expected an object`);
  }
  const value = object[key];
  if (value === undefined) throw new Error(`profile ${where}: missing "${key}"`);
  return value;
}

function numberAt(object: Json, key: string, where: string): number {
  const value = field(object, key, where);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`profile ${where}.${key}: expected a number`);
  }
  return value;
}

/** Addresses and IDs are written as hex strings ("0x08000000") in the profiles. */
function hexAt(object: Json, key: string, where: string): number {
  const value = field(object, key, where);
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value)) {
    throw new Error(`profile ${where}.${key}: expected a hex string like "0x08000000"`);
  }
  return Number(value);
}

function stringAt(object: Json, key: string, where: string): string {
  const value = field(object, key, where);
  if (typeof value !== 'string') throw new Error(`profile ${where}.${key}: expected a string`);
  return value;
}

export function loadMcuProfile(model: McuModel, directory = profilesDirectory()): McuProfile {
  const file = path.join(directory, PROFILE_FILE[model]);
  const root = JSON.parse(readFileSync(file, 'utf8')) as Json;
  const flash = field(field(root, 'memory', file), 'flash', `${file} memory`);
  const bootloader = field(root, 'bootloader', file);
  const timing = field(bootloader, 'timing', `${file} bootloader`);
  const firmware = field(root, 'firmware', file);
  const bench = field(root, 'bench', file);

  if (stringAt(firmware, 'model', 'firmware') !== model) {
    throw new Error(`profile ${file}: firmware.model is not ${model}`);
  }
  const protocol = stringAt(bootloader, 'protocol', 'bootloader');
  if (protocol !== 'an3155' && protocol !== 'stc89-isp') {
    throw new Error(`profile ${file}: the bench models the an3155 and stc89-isp loaders, not ${protocol}`);
  }
  const isp = protocol === 'stc89-isp'
    ? {
        magic: hexAt(bootloader, 'magic', 'bootloader'),
        version: hexAt(bootloader, 'version', 'bootloader'),
        stepping: stringAt(bootloader, 'stepping', 'bootloader'),
        options: hexAt(bootloader, 'options', 'bootloader'),
        handshakeBaud: numberAt(field(bootloader, 'uart', 'bootloader'), 'handshakeBaud', 'bootloader.uart'),
        powerOnWindowMs: numberAt(bootloader, 'powerOnWindowMs', 'bootloader'),
      }
    : undefined;
  const erase = isp ? 0x44 : hexAt(bootloader, 'erase', 'bootloader');
  if (erase !== 0x43 && erase !== 0x44) throw new Error(`profile ${file}: bootloader.erase must be "0x43" or "0x44"`);
  const emulatorCommand = stringAt(bench, 'emulator', 'bench');
  const emulator: EmulatorKind = emulatorCommand.startsWith('qemu-system-arm') ? 'qemu' : 's51';

  return {
    model,
    profileName: stringAt(root, 'name', file),
    flashBase: hexAt(flash, 'baseAddress', 'memory.flash'),
    flashSize: numberAt(flash, 'sizeBytes', 'memory.flash'),
    pageSize: numberAt(flash, 'pageSizeBytes', 'memory.flash'),
    productId: isp ? isp.magic : hexAt(bootloader, 'productId', 'bootloader'),
    bootloaderVersion: hexAt(bootloader, 'version', 'bootloader'),
    bootloaderErase: erase,
    pageEraseMs: numberAt(timing, 'pageEraseMs', 'bootloader.timing'),
    massEraseMs: numberAt(timing, 'massEraseMs', 'bootloader.timing'),
    programMicrosPerByte: numberAt(timing, 'programMicrosPerByte', 'bootloader.timing'),
    emulator,
    coreClockHz: numberAt(bench, 'coreClockHz', 'bench'),
    bootloaderProtocol: protocol,
    ...(isp ? { isp } : {}),
  };
}
