/**
 * The gateway's `flash` RPC: fetch the image the hub names, decide with this gateway's own
 * trust anchors whether it may go onto the MCU (admission.ts, before anything touches the
 * MCU), then update the MCU with a way back (mcu-updater.ts) while its port is lent out
 * exclusively. Progress streams back to the hub; every outcome is also a device event.
 */
import type { Clock } from '../../firmware/index.js';
import { admitFirmware, flashGeometryFor, updateMcu, type FlashGeometry, type ImageKeeper, type PowerControl, type UpdateOutcome } from '../../firmware/update/index.js';
import type { Logger } from '../../common/log.js';
import { flashParamsSchema, type DeviceEvent, type FlashResultLine, type FlashRpcUpdate, type FlashStep } from '../../protocol/index.js';
import type { RpcHandler } from '../rpc/rpc-server.js';
import { obtainImage, type ObtainedImage } from './delta-fetch.js';
import { discardDownload, fetchManifest, type FirmwareSource } from './firmware-fetch.js';
import type { Gateway } from './gateway.js';
import { describeHolders, type PortLocks } from './port-lock.js';

export interface FlashHandlerDeps {
  readonly gateway: Gateway;
  /** Undefined when the agent does not know the hub's URL (it was given only a broker). */
  readonly source: FirmwareSource | undefined;
  /** PEM public keys from --trust-key. */
  readonly trustedKeys: readonly string[];
  readonly keeper: ImageKeeper;
  /** Shared with Jobs that claim the MCU's port: a flash waits for them, they wait for it. */
  readonly locks: PortLocks;
  readonly clock: Clock;
  readonly bootTimeoutMs: number;
  /** How the MCU on a port is power-cycled (STC89 ISP); undefined: the technician is asked. */
  readonly powerFor?: (path: string) => PowerControl | undefined;
  /** The ports' line rate (restored after the STC89 loader's rate switch). */
  readonly baud?: number;
  readonly event: (event: Omit<DeviceEvent, 'time'>) => void;
  readonly log: Logger;
}

/** Refusals that mean the cached download is bad, not the firmware: fetch it again next time. */
const BAD_DOWNLOAD = new Set(['size-mismatch', 'hash-mismatch', 'bad-image']);

export function flashHandler(deps: FlashHandlerDeps): RpcHandler {
  return async (params, io) => {
    const { mcu, sha256, force, unprotect, verify } = flashParamsSchema.parse(params);
    const port = deps.gateway.portOf(mcu);
    const identity = port?.state.identity;
    if (!port || !identity) throw new Error(`no MCU ${mcu} on this gateway`);
    if (!deps.source) throw new Error('this agent does not know the hub URL to fetch firmware from (start it with --hub)');
    const source = deps.source;
    const send = (update: FlashRpcUpdate): void => io.send(update);
    const progress = progressReporter(send, deps.clock);
    const object = { kind: 'Mcu', name: mcu };

    const envelope = await fetchManifest(source, sha256, io.signal);
    const obtained = await obtainImage(source, envelope.manifest, await deps.keeper.load(mcu), { onProgress: (done, total) => progress('download', done, total), signal: io.signal });
    const { bytes } = obtained;
    const fetchedAs = reportDelta(obtained, envelope.manifest, { mcu, object, send, deps });
    const geometry: FlashGeometry | undefined = flashGeometryFor(identity.model);
    const admission = admitFirmware({
      manifest: envelope.manifest,
      signature: envelope.signature,
      bytes,
      trustedKeys: deps.trustedKeys,
      model: identity.model,
      geometry,
      ...(port.state.online ? { currentVersion: identity.firmwareVersion } : {}),
      force,
    });
    if (!admission.ok) {
      if (BAD_DOWNLOAD.has(admission.reason)) await discardDownload(source, sha256);
      const message = `refused ${envelope.manifest.version} (${admission.reason}): ${admission.message}`;
      deps.event({ type: 'Warning', reason: 'FirmwareRefused', message: `${mcu}: ${message}`, object });
      throw new Error(message);
    }
    if (!geometry) throw new Error(`no flash layout for ${identity.model}`); // admission checked it; narrows the type
    const version = admission.manifest.version;
    const forced = admission.forced ? ` (forced: ${admission.forced})` : '';
    const lease = await deps.locks.acquire([port.path], { kind: 'flash', name: `mcu ${mcu}` }, {
      signal: io.signal,
      onWait: (holders) => {
        const message = `${mcu}: flash of ${version} waits for ${describeHolders(holders)} to release ${port.path}`;
        deps.event({ type: 'Normal', reason: 'FlashWaiting', message, object });
        send({ type: 'note', message });
      },
    });
    let outcome: UpdateOutcome;
    try {
      deps.event({ type: 'Normal', reason: 'FlashStarted', message: `${mcu}: flashing ${version} over ${identity.firmwareVersion}${forced}`, object });
      send({ type: 'note', message: `verified ${version} (key ${admission.keyId})${forced}; flashing ${mcu} on ${port.path}` });
      outcome = await port.exclusive((access) =>
        updateMcu(
          {
            link: access.link,
            clock: deps.clock,
            geometry,
            keeper: deps.keeper,
            mcuId: mcu,
            runningVersion: access.wasOnline ? access.identity?.firmwareVersion : undefined,
            bootTimeoutMs: deps.bootTimeoutMs,
            onProgress: progress,
            onNote: (message) => send({ type: 'note', message }),
            signal: io.signal,
            unprotect,
            ...(verify ? { verify } : {}),
            ...powerSettings(deps, port.path),
          },
          admission.image,
          version,
        ),
      );
    } finally {
      lease.release();
    }
    switch (outcome.kind) {
      case 'updated': {
        const from = outcome.previousVersion ?? 'unknown';
        deps.event({ type: 'Normal', reason: 'FirmwareFlashed', message: `${mcu}: ${from} → ${version} (${outcome.bytesWritten} bytes, ${outcome.retries} retries${fetchedAs})`, object });
        deps.log.info(`${mcu}: flashed ${version}`);
        const result: FlashResultLine = {
          type: 'result',
          mcu,
          version: outcome.identity.firmwareVersion,
          previousVersion: outcome.previousVersion ?? null,
          sha256,
          bytesWritten: outcome.bytesWritten,
          retries: outcome.retries,
        };
        return result;
      }
      case 'rolled-back':
        deps.event({ type: 'Warning', reason: 'FirmwareRolledBack', message: `${mcu}: ${outcome.message}`, object });
        deps.log.warn(`${mcu}: ${outcome.message}`);
        throw new Error(outcome.message);
      case 'failed':
        deps.event({ type: 'Warning', reason: 'FlashFailed', message: `${mcu}: ${outcome.message}`, object });
        deps.log.warn(`${mcu}: ${outcome.message}`);
        throw new Error(outcome.message);
    }
  };
}

/**
 * Says how the image came (a note for the technician, and a Warning event when a delta
 * arrived but did not make the image); returns the suffix for the FirmwareFlashed event.
 */
function reportDelta(
  obtained: ObtainedImage,
  manifest: { readonly size: number; readonly version: string },
  at: { mcu: string; object: { kind: string; name: string }; send: (update: FlashRpcUpdate) => void; deps: FlashHandlerDeps },
): string {
  const { mcu, object, send, deps } = at;
  if (obtained.via === 'delta') {
    const { deltaBytes } = obtained.delta;
    const share = ((100 * deltaBytes) / manifest.size).toFixed(1);
    send({ type: 'note', message: `fetched ${manifest.version} as a ${deltaBytes}-byte delta from the kept ${obtained.base.version} (${share} % of the ${manifest.size}-byte image)` });
    deps.log.info(`${mcu}: ${manifest.version} patched from a ${deltaBytes}-byte delta (${share} % of ${manifest.size} bytes)`);
    return `, fetched as a ${deltaBytes}-byte delta`;
  }
  const attempt = obtained.delta;
  if (attempt === undefined || attempt.kind === 'patched') return '';
  send({ type: 'note', message: `${attempt.why}: fetched the whole image` });
  if (attempt.kind === 'failed') {
    deps.event({ type: 'Warning', reason: 'FirmwareDeltaRejected', message: `${mcu}: ${attempt.why}; fetched the whole ${manifest.version} image instead`, object });
    deps.log.warn(`${mcu}: ${attempt.why}; fetched the whole image instead`);
  } else {
    deps.log.info(`${mcu}: ${attempt.why}; fetching the whole image`);
  }
  return '';
}

function powerSettings(deps: FlashHandlerDeps, path: string): { power?: PowerControl; port: string; applicationBaud?: number } {
  const power = deps.powerFor?.(path);
  return { port: path, ...(power ? { power } : {}), ...(deps.baud ? { applicationBaud: deps.baud } : {}) };
}

/** Progress is sent per step at its start and end and at most every 200 ms in between: one MQTT message per 256-byte block would be 512 for 64 KB. */
function progressReporter(send: (update: FlashRpcUpdate) => void, clock: Clock): (step: FlashStep, done: number, total: number) => void {
  let lastStep: FlashStep | undefined;
  let lastAt = 0;
  return (step, done, total) => {
    const now = clock.now();
    const edge = step !== lastStep || done === 0 || done >= total;
    if (!edge && now - lastAt < 200) return;
    lastStep = step;
    lastAt = now;
    send({ type: 'progress', step, done, total });
  };
}
