/**
 * Payload bounds. A broker or hub that accepts unbounded payloads can be exhausted by one
 * misbehaving device; these limits are checked before JSON parsing.
 */
export const payloadLimits = {
  joinRequest: 64 * 1024,
  joinResponse: 4 * 1024,
  status: 2 * 1024,
  facts: 64 * 1024,
  desired: 512 * 1024,
  /** 64 services of up to 256 endpoints each would not fit; the hub refuses to send more. */
  services: 256 * 1024,
  reported: 256 * 1024,
  events: 16 * 1024,
  metrics: 32 * 1024,
  /** Up to 50 run records of 20 output lines each. */
  runs: 256 * 1024,
  runsAck: 16 * 1024,
  rpcRequest: 64 * 1024,
  rpcResponse: 256 * 1024,
  telemetry: 4 * 1024,
} as const;

/** The broker refuses any packet above this (the largest of the limits above, plus headroom). */
export const MAX_MQTT_PACKET_BYTES = 600 * 1024;
