import test from 'ava';
import type { McuMessage } from '../../../src/firmware/mculink/messages.js';
import { decodeMessage, encodeMessage, MessageDecodeError, MessageType } from '../../../src/firmware/mculink/messages.js';
import { decodeTelemetry, encodeTelemetry, tiltFromAccel } from '../../../src/firmware/mculink/telemetry.js';
import { bytes } from './helpers/auto-clock.js';

const IDENTITY_FIXTURE = bytes(
  1, // protocol version
  1, 2, 3, // firmware 1.2.3
  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, // serial
  9, ...new TextEncoder().encode('stm32f103'),
  4, ...new TextEncoder().encode('tilt'),
);

test('PING/PONG carry 0..16 bytes verbatim', (t) => {
  const ping = encodeMessage({ kind: 'ping', data: bytes(1, 2, 3) });
  t.deepEqual(ping, { type: 0x01, payload: bytes(1, 2, 3) });
  t.deepEqual(decodeMessage(0x81, bytes(1, 2, 3)), { kind: 'pong', data: bytes(1, 2, 3) });
  t.deepEqual(decodeMessage(0x01, new Uint8Array(0)), { kind: 'ping', data: new Uint8Array(0) });
  t.throws(() => decodeMessage(0x81, new Uint8Array(17)), { instanceOf: MessageDecodeError });
  t.throws(() => encodeMessage({ kind: 'ping', data: new Uint8Array(17) }), { instanceOf: RangeError });
});

test('IDENTIFY is empty, or flags and a length (5 bytes)', (t) => {
  t.deepEqual(encodeMessage({ kind: 'identify' }), { type: 0x02, payload: new Uint8Array(0) });
  t.deepEqual(decodeMessage(0x02, new Uint8Array(0)), { kind: 'identify' });
  t.throws(() => decodeMessage(0x02, bytes(0)), { message: /IDENTIFY payload must be 5 bytes, got 1/ });
});

test('IDENTITY decodes every field of the fixture', (t) => {
  const msg = decodeMessage(0x82, IDENTITY_FIXTURE);
  t.deepEqual(msg, {
    kind: 'identity',
    identity: {
      protocolVersion: 1,
      firmware: { major: 1, minor: 2, patch: 3 },
      firmwareVersion: '1.2.3',
      serialNumber: '0123456789abcdef',
      model: 'stm32f103',
      application: 'tilt',
    },
  });
  if (msg.kind !== 'identity') return t.fail();
  t.deepEqual(encodeMessage(msg).payload, IDENTITY_FIXTURE);
});

test('IDENTITY with empty strings and malformed lengths', (t) => {
  const empty = bytes(1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const msg = decodeMessage(0x82, empty);
  t.like(msg, { kind: 'identity', identity: { model: '', application: '', firmwareVersion: '0.0.1' } });
  t.throws(() => decodeMessage(0x82, empty.subarray(0, 13)), { message: /shorter than the 14-byte minimum/ });
  t.throws(() => decodeMessage(0x82, bytes(...IDENTITY_FIXTURE, 0)), { message: /must be 27 bytes \(or 35 with the image check\), got 28/ });
  const longModel = IDENTITY_FIXTURE.slice();
  longModel[12] = 25;
  t.throws(() => decodeMessage(0x82, longModel), { message: /model length 25 exceeds 24/ });
  const longApp = bytes(...IDENTITY_FIXTURE.subarray(0, 22), 17, ...new Uint8Array(17));
  t.throws(() => decodeMessage(0x82, longApp), { message: /application length 17 exceeds 16/ });
});

test('SET_RATE and SET_RATE_ACK carry a little-endian u16', (t) => {
  t.deepEqual(encodeMessage({ kind: 'set-rate', intervalMs: 500 }), { type: 0x03, payload: bytes(0xf4, 0x01) });
  t.deepEqual(decodeMessage(0x83, bytes(0x34, 0x12)), { kind: 'set-rate-ack', intervalMs: 0x1234 });
  t.deepEqual(decodeMessage(0x03, bytes(0, 0)), { kind: 'set-rate', intervalMs: 0 });
  t.throws(() => decodeMessage(0x83, bytes(1)), { message: /SET_RATE_ACK payload must be 2 bytes/ });
  t.throws(() => encodeMessage({ kind: 'set-rate', intervalMs: 70000 }), { instanceOf: RangeError });
});

test('ENTER_BOOTLOADER carries the magic B0 07 10 AD; its ACK is empty', (t) => {
  t.deepEqual(encodeMessage({ kind: 'enter-bootloader' }), { type: 0x04, payload: bytes(0xb0, 0x07, 0x10, 0xad) });
  t.deepEqual(decodeMessage(0x04, bytes(0xb0, 0x07, 0x10, 0xad)), { kind: 'enter-bootloader' });
  t.throws(() => decodeMessage(0x04, bytes(0xb0, 0x07, 0x10, 0xae)), { message: /magic/ });
  t.deepEqual(encodeMessage({ kind: 'enter-bootloader-ack' }), { type: 0x84, payload: new Uint8Array(0) });
  t.deepEqual(decodeMessage(0x84, new Uint8Array(0)), { kind: 'enter-bootloader-ack' });
});

test('TELEMETRY decodes to named channels in physical units', (t) => {
  const payload = bytes(
    0x10, 0x27, 0x00, 0x00, // 10000 ms
    8,
    1, 0xd2, 0x04, // pitch 1234 → 12.34°
    2, 0x2e, 0xfb, // roll -1234 → -12.34°
    3, 0xf4, 0x01, // accel_x 500 mg
    4, 0x0c, 0xfe, // accel_y -500 mg
    5, 0x62, 0x03, // accel_z 866 mg
    6, 0x4c, 0x09, // temperature 2380 → 23.8 °C
    7, 0xe4, 0x0c, // supply 3300 mV
    8, 0xff, 0x7f, // sample_index 32767
  );
  const tel = decodeTelemetry(payload);
  t.is(tel.uptimeMs, 10000);
  t.deepEqual(tel.values, { pitch: 12.34, roll: -12.34, accel_x: 500, accel_y: -500, accel_z: 866, temperature: 23.8, supply: 3300, sample_index: 32767 });
  t.deepEqual(tel.readings[0], { id: 1, name: 'pitch', unit: 'deg', raw: 1234, value: 12.34 });
  t.deepEqual(tel.readings[5], { id: 6, name: 'temperature', unit: '°C', raw: 2380, value: 23.8 });
  t.deepEqual(tel.readings[6], { id: 7, name: 'supply', unit: 'mV', raw: 3300, value: 3300 });
  t.deepEqual(encodeTelemetry(tel.uptimeMs, tel.readings), payload);
  const msg = decodeMessage(MessageType.TELEMETRY, payload);
  t.is(msg.kind, 'telemetry');
});

test('TELEMETRY: u32 uptime wraps, unknown channels are kept raw, bad lengths rejected', (t) => {
  const tel = decodeTelemetry(bytes(0xff, 0xff, 0xff, 0xff, 1, 42, 0x05, 0x00));
  t.is(tel.uptimeMs, 0xffffffff);
  t.deepEqual(tel.readings, [{ id: 42, name: 'channel_42', unit: '', raw: 5, value: 5 }]);
  t.deepEqual(tel.values, {});
  t.deepEqual(decodeTelemetry(bytes(0, 0, 0, 0, 0)).readings, []);
  t.throws(() => decodeMessage(0x10, bytes(0, 0, 0, 0, 9, ...new Uint8Array(27))), { message: /at most 8 allowed/ });
  t.throws(() => decodeMessage(0x10, bytes(0, 0, 0, 0, 1, 1, 0)), { message: /needs 8 bytes, got 7/ });
  t.throws(() => decodeMessage(0x10, bytes(0, 0, 0)), { instanceOf: MessageDecodeError });
});

test('tiltFromAccel matches the PROTOCOL.md generator table', (t) => {
  t.deepEqual(tiltFromAccel(0, 0, 1000), { pitch: 0, roll: 0 });
  t.deepEqual(tiltFromAccel(500, 0, 866), { pitch: -3000, roll: 0 });
  t.deepEqual(tiltFromAccel(0, 500, 866), { pitch: 0, roll: 3000 });
  t.deepEqual(tiltFromAccel(0, 866, 500), { pitch: 0, roll: 6000 });
});

test('ERROR carries request type and code with a name', (t) => {
  t.deepEqual(decodeMessage(0x7f, bytes(0x03, 3)), { kind: 'error', error: { requestType: 3, code: 3, codeName: 'bad-argument' } });
  t.like(decodeMessage(0x7f, bytes(0x55, 1)), { error: { codeName: 'unknown-type' } });
  t.like(decodeMessage(0x7f, bytes(0x01, 2)), { error: { codeName: 'bad-length' } });
  t.like(decodeMessage(0x7f, bytes(0x04, 4)), { error: { codeName: 'bad-magic' } });
  t.like(decodeMessage(0x7f, bytes(0x04, 99)), { error: { codeName: 'unknown' } });
  const err: McuMessage = { kind: 'error', error: { requestType: 4, code: 4, codeName: 'bad-magic' } };
  t.deepEqual(encodeMessage(err), { type: 0x7f, payload: bytes(4, 4) });
});

test('unknown message types are rejected', (t) => {
  t.throws(() => decodeMessage(0x55, new Uint8Array(0)), { message: /message type 0x55 unknown/ });
});
