/**
 * Public API of the firmware module (ARCHITECTURE.md, "firmware"): MCU images,
 * manifests and signatures, the MCU link session, and the AN3155 flasher, all over
 * an injected ByteLink and Clock. Importing this module performs no I/O.
 */

// Time
export type { Clock, TimerHandle } from './clock.js';
export { createSystemClock, ManualClock } from './clock.js';

// Images
export type { FirmwareImage, Segment, StartAddress, ImageFormat, LoadImageOptions, SourcedSegment } from './image/image.js';
export {
  createImage,
  normalizeSegments,
  flattenImage,
  imageSpan,
  imageSize,
  imageDataSize,
  imageSha256,
  loadImageFile,
  looksLikeIntelHex,
  ImageError,
} from './image/image.js';
export type { WriteIntelHexOptions } from './image/intel-hex.js';
export { parseIntelHex, writeIntelHex, IntelHexError } from './image/intel-hex.js';
export { parseRawBinary, writeRawBinary } from './image/raw-binary.js';

// Manifests and signatures
export type { FirmwareManifest, CreateManifestOptions } from './manifest/manifest.js';
export { createManifest, ManifestError, manifestProblem, isFirmwareManifest, canonicalJson } from './manifest/manifest.js';
export type { ManifestSignature, SigningKeyPair } from './manifest/signing.js';
export { generateSigningKeyPair, keyIdOf, keyFingerprint, signManifest, verifyManifestSignature } from './manifest/signing.js';
export type { PublicKeyProblem, PublicKeyProblemCode } from './manifest/public-key.js';
export { publicKeyProblem } from './manifest/public-key.js';
export type { VerifyFirmwareInput, VerifyResult, VerifyFailureReason } from './manifest/verify.js';
export { verifyFirmware } from './manifest/verify.js';
export type { SemVer } from './manifest/semver.js';
export { parseSemver, compareSemver, isSemver } from './manifest/semver.js';

// Does an image fit its target MCU? (sign, upload, admission)
export type { TargetProblem, TargetProblemCode, TargetCheckInput } from './update/target-check.js';
export { targetProblem, labelProblem, assertTargetFits, flashFitProblem, TargetCheckError } from './update/target-check.js';
export type { FlashGeometry } from './update/flash-targets.js';
export { flashGeometryFor, knownFlashTargets } from './update/flash-targets.js';

// Byte links
export type { ByteLink, Parity, Unsubscribe } from './link/byte-link.js';
export { SwitchableLink, DEFAULT_REOPEN_ATTEMPTS, DEFAULT_REOPEN_DELAY_MS, type OpenWithParity, type ReopenRetry } from './link/switchable-link.js';
export { LinkClosedError } from './link/byte-link.js';
export type { SerialPortLike } from './link/serial-port-link.js';
export { SerialPortLink, serialPortLink } from './link/serial-port-link.js';
export type { MemoryLinkOptions, MemoryLinkPair, LinkSide } from './link/memory-link.js';
export { createMemoryLinkPair, MemoryLink } from './link/memory-link.js';

// MCU link protocol (hardware/PROTOCOL.md)
export { crc16Ccitt } from './mculink/crc16-ccitt.js';
export type { Frame, DecoderStats, FrameDecoderOptions } from './mculink/frame-codec.js';
export { encodeFrame, FrameDecoder, FrameEncodeError, SOF, MAX_PAYLOAD, PARTIAL_FRAME_TIMEOUT_MS } from './mculink/frame-codec.js';
export type { Identity, McuMessage, McuErrorReport, McuErrorCodeName } from './mculink/messages.js';
export { MessageType, encodeMessage, decodeMessage, MessageDecodeError, BOOTLOADER_MAGIC } from './mculink/messages.js';
export type { Telemetry, TelemetryReading, ChannelName, ChannelInfo } from './mculink/telemetry.js';
export { CHANNELS, decodeTelemetry, encodeTelemetry, tiltFromAccel } from './mculink/telemetry.js';
export type { MatcherStats, RequestMatcherOptions } from './mculink/request-matcher.js';
export { RequestMatcher, RequestTimeoutError, McuRequestError, RequestsClosedError } from './mculink/request-matcher.js';
export type { McuSessionOptions, SessionStats } from './mculink/mcu-session.js';
export { McuSession, MIN_TELEMETRY_INTERVAL_MS } from './mculink/mcu-session.js';

// STM32 USART bootloader (ST AN3155)
export type { An3155Timeouts, An3155ClientOptions } from './an3155/an3155-client.js';
export { An3155Client, DEFAULT_TIMEOUTS } from './an3155/an3155-client.js';
export type { BootloaderErrorCode, EraseTarget } from './an3155/wire.js';
export { ACK, NACK, Command, MAX_TRANSFER, BootloaderError, xorChecksum, encodeAddress, WRITE_MEMORY_OVERHEAD } from './an3155/wire.js';
export type { FlashOptions, FlashProgress, FlashPhase, FlashResult, Block } from './an3155/flash.js';
export { flashImage, planBlocks, pagesFor, FlashVerifyError, FlashAbortedError } from './an3155/flash.js';
