import { eventSubjects } from '../store/records.js';
import { hashSecret, randomAlnum, randomSecret } from '../../common/ids.js';
import type { Logger } from '../../common/log.js';
import { joinTokenId, type JoinRequest, type JoinResponse, type Labels } from '../../protocol/index.js';
import type { DeviceRecord, TokenRecord } from '../store/records.js';
import { HardwareIdTakenError, type DeviceRepository, type EventRepository } from '../store/repository.js';
import type { DeviceFeed } from './device-feed.js';
import { derivedLabels } from './derived-labels.js';
import { approveCommand, decideJoin } from './join-decision.js';
import type { JoinNonces, NonceVerdict } from './join-nonces.js';
import { joinSignatureValid, keyFingerprint } from './join-proof-check.js';
import type { JoinTokens } from './tokens.js';

/** Lowercase, dash-separated, short: device ids appear in topics, tables and shell commands. */
export function deviceIdBase(hostname: string): string {
  const slug = hostname
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'device' : slug;
}

export interface RegistrationDeps {
  tokens: JoinTokens;
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  nonces: JoinNonces;
  now: () => Date;
  log: Logger;
}

/**
 * Turns a join request into a device identity. The response is sent only after the device is
 * durably stored, so a device never holds credentials that a crashed hub has forgotten.
 * Nothing is consumed or changed for a refused or held request: no token use, no credentials.
 */
export function registerDevice(nonce: string, request: JoinRequest, deps: RegistrationDeps): Promise<JoinResponse> {
  // One join per board at a time: an agent that retries a join whose answer was late sends a
  // second request while the first is still on its way; both saw no device and both registered
  // one (1,010 records for 1,000 boards in the 3-hub registration bench). In turn, the second
  // finds the first's record and is a re-join by the same key.
  const inFlight = joinsInFlightAt(deps.devices);
  const previous = inFlight.get(request.hardwareId) ?? Promise.resolve();
  const mine = previous.then(() => join(nonce, request, deps));
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  inFlight.set(request.hardwareId, settled);
  void settled.then(() => {
    if (inFlight.get(request.hardwareId) === settled) inFlight.delete(request.hardwareId);
  });
  return mine;
}

/** Joins in flight per board, per hub (its device repository): other hubs are met by the store (HardwareIdTaken). */
const joinsInFlight = new WeakMap<DeviceRepository, Map<string, Promise<void>>>();

function joinsInFlightAt(devices: DeviceRepository): Map<string, Promise<void>> {
  let map = joinsInFlight.get(devices);
  if (!map) joinsInFlight.set(devices, (map = new Map()));
  return map;
}

/** `claimed`: the nonce's verdict when this is the second look after another hub registered the board (its nonce is spent already). */
async function join(nonce: string, request: JoinRequest, deps: RegistrationDeps, claimed?: NonceVerdict): Promise<JoinResponse> {
  const refuse = (reason: Extract<JoinResponse, { ok: false }>['reason'], message: string): JoinResponse => {
    deps.log.warn(`join refused for ${request.hostname} (${request.hardwareId}): ${message}`);
    return { ok: false, reason, message };
  };
  const checked = await deps.tokens.check(request.token);
  const tokenId = joinTokenId(request.token);
  const existing = checked.ok || checked.record ? await deps.devices.findByHardwareId(request.hardwareId) : undefined;
  // The board this token brought in, proving its key again: its own join, even once the token's
  // uses are spent (a retry that lost the race to its first attempt would be refused for good).
  const ownJoin = existing !== undefined && existing.joinedWithToken === tokenId && existing.publicKey === request.publicKey;
  if (!checked.ok && !(checked.reason === 'exhausted-token' && ownJoin)) return refuse(checked.reason, checked.message);
  const token = checked.record;
  if (!token) return refuse('unknown-token', 'join token is not known to this hub');
  const now = deps.now();
  const decision = decideJoin({
    signatureValid: joinSignatureValid(nonce, request),
    nonce: claimed ?? deps.nonces.claim(nonce, request.timestamp, now.getTime()),
    existing,
    request: { publicKey: request.publicKey, hostname: request.hostname, hardwareId: request.hardwareId, tokenId, timestamp: request.timestamp },
    now,
  });
  switch (decision.kind) {
    case 'refuse':
      return refuse(decision.reason, decision.message);
    case 'hold': {
      if (existing && decision.record) {
        await deps.devices.update(existing.id, (d) => void (d.pendingRejoin = decision.pending), 'sync');
        await deps.events.append(eventSubjects.device(existing.id), {
          time: now.toISOString(),
          type: 'Warning',
          reason: 'RejoinPending',
          message:
            `${request.hostname} asked to join as this device (hardware id ${request.hardwareId}) with unknown key ` +
            `${keyFingerprint(request.publicKey)} and token ${tokenId}; credentials unchanged. If this board was reflashed, run: ${approveCommand(existing.id)}`,
        });
        deps.feed.changed(existing.id, 'MODIFIED', 'registration');
      }
      return refuse('approval-required', decision.message);
    }
    default: {
      // The same board proving its key with the token it joined with is no new device: a retried
      // or repeated join spends no further use (a --max-uses 20 token ran out before 20 boards).
      const consumed = decision.kind === 'rejoin-proven' && ownJoin ? { ok: true as const, record: token, giveBack: async () => undefined } : await deps.tokens.consume(request.token);
      if (!consumed.ok) {
        // The last use taken by this board's own join at another hub a moment ago (an agent that
        // asked two hubs at once): the board is registered now, and this join is its re-join.
        if (consumed.reason === 'exhausted-token' && !existing && claimed === undefined && (await deps.devices.findByHardwareId(request.hardwareId))) return join(nonce, request, deps, 'fresh');
        return refuse(consumed.reason, consumed.message);
      }
      if (existing) return rejoin(existing, request, consumed.record, decision.kind === 'rejoin-approved', deps);
      try {
        return await register(request, consumed.record, deps);
      } catch (err) {
        // Another hub registered this board between our look and our write (its join of the same
        // board at the same moment): nothing of ours was stored. The use goes back, and the join is
        // decided again against that record, as a re-join on one hub would be (same key: same
        // device, fresh credentials, no further use of the token it joined with).
        if (!(err instanceof HardwareIdTakenError) || claimed !== undefined) throw err;
        await consumed.giveBack();
        deps.log.info(`join of ${request.hostname} (${request.hardwareId}) met ${err.ownerId ?? 'a device'} registered by another hub; answering as a re-join`);
        return join(nonce, request, deps, 'fresh');
      }
    }
  }
}

async function register(request: JoinRequest, token: TokenRecord, deps: RegistrationDeps): Promise<JoinResponse> {
  const now = deps.now().toISOString();
  const password = randomSecret(32);
  const device: DeviceRecord = {
    id: await freeDeviceId(request.hostname, deps.devices),
    hardwareId: request.hardwareId,
    hostname: request.hostname,
    labels: { ...token.labels, ...derivedLabels(request.facts) },
    taints: [],
    unschedulable: false,
    credentialHash: hashSecret(password),
    registeredAt: now,
    joinedWithToken: token.id,
    facts: request.facts,
    publicKey: request.publicKey,
  };
  await deps.devices.put(device, 'sync');
  await deps.events.append(eventSubjects.device(device.id), {
    time: now,
    type: 'Normal',
    reason: 'Registered',
    message: `registered with join token ${token.id}, key ${keyFingerprint(request.publicKey)} (agent ${request.agentVersion})`,
  });
  deps.feed.changed(device.id, 'ADDED', 'registration');
  deps.log.info(`device ${device.id} registered (${request.hostname}, ${request.facts.arch})`);
  return { ok: true, deviceId: device.id, password, labels: device.labels, reregistered: false };
}

/**
 * The same board again, proven by its key (or a key an administrator approved): same id, fresh
 * credentials. A different token than the last join's applies its labels (the board was moved
 * and joined with the new site's token); the same token leaves labels as the technician set them.
 */
async function rejoin(existing: DeviceRecord, request: JoinRequest, token: TokenRecord, approved: boolean, deps: RegistrationDeps): Promise<JoinResponse> {
  const now = deps.now().toISOString();
  const password = randomSecret(32);
  const tokenLabels: Labels = token.id === existing.joinedWithToken ? {} : token.labels;
  // Changed in the record as stored when written, not put back whole from `existing`: that copy
  // was read before the join's token use, and the device's status, reports or lastSeen written
  // since (a retried join whose first answer did reach the device, which connected meanwhile)
  // would be put back to what they were (a 3-hub storm left devices connected with no status).
  // The store write is the rotation: the broker checks the hash in the store, so the old password stops working here.
  const device = await deps.devices.update(
    existing.id,
    (d) => {
      d.hostname = request.hostname;
      d.credentialHash = hashSecret(password);
      d.facts = request.facts;
      d.labels = { ...d.labels, ...tokenLabels, ...derivedLabels(request.facts) };
      d.joinedWithToken = token.id;
      d.publicKey = request.publicKey;
      delete d.pendingRejoin;
    },
    'sync',
  );
  // Deleted between the look and the write: the board registers as a new device, as it would have a moment later.
  if (!device) return register(request, token, deps);
  const applied = Object.entries(tokenLabels).map(([k, v]) => `${k}=${v}`);
  await deps.events.append(eventSubjects.device(device.id), {
    time: now,
    type: 'Normal',
    reason: approved ? 'RejoinApproved' : 'Reregistered',
    message:
      `${approved ? `joined with the approved key ${keyFingerprint(request.publicKey)}` : 'registered again, device key proven'} ` +
      `with join token ${token.id}${applied.length > 0 ? `; token labels applied: ${applied.join(' ')}` : ''} (agent ${request.agentVersion})`,
  });
  deps.feed.changed(device.id, 'MODIFIED', 'registration');
  deps.log.info(`device ${device.id} re-registered (${request.hostname}${approved ? ', approved key' : ''})`);
  return { ok: true, deviceId: device.id, password, labels: device.labels, reregistered: true };
}

async function freeDeviceId(hostname: string, devices: DeviceRepository): Promise<string> {
  const base = deviceIdBase(hostname);
  for (;;) {
    const id = `${base}-${randomAlnum(5)}`;
    if (!(await devices.get(id))) return id;
  }
}
