/**
 * Public API of MCU updating (src/firmware/update): admission of a signed image, the update
 * with backup and rollback over a Flasher (AN3155 for the STM32, the STC89 ISP loader for
 * the STC89C52, chosen by the MCU's model), the kept images, and how an MCU's power is
 * cycled. Callers (the gateway's flash RPC, `edgepilot flash`, the bench) import from here.
 */
export type { Admission, AdmissionInput, RefusalReason } from './admission.js';
export { admitFirmware } from './admission.js';
export type { FlashGeometry } from './flash-targets.js';
export { flashGeometryFor, knownFlashTargets } from './flash-targets.js';
export type { ImageKeeper, KeptImage } from './kept-images.js';
export { FileImageKeeper, MemoryImageKeeper } from './kept-images.js';
export type { UpdateEnvironment, UpdateOutcome, UpdateStep } from './mcu-updater.js';
export { updateMcu } from './mcu-updater.js';
export type { Flasher, FlasherKind, FlasherProgress, FlasherSession, FlasherWriteOptions, FlasherWriteResult } from './flasher.js';
export type { FlasherEnvironment } from './flasher-selection.js';
export { selectFlasher } from './flasher-selection.js';
export type { PowerControl, PowerControlName, PowerCycler, PowerCycleTiming } from './power-control.js';
export { DEFAULT_POWER_TIMING, parsePowerControl, POWER_CONTROL_NAMES, powerCycler, PowerControlError } from './power-control.js';
