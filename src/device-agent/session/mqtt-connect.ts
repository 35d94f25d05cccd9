import type { IClientOptions, MqttClient } from 'mqtt';

/** How the agent opens MQTT connections; the composition root passes mqtt.connect. */
export type ConnectMqtt = (url: string, options: IClientOptions) => MqttClient;

/** CONNACK codes that mean "your credentials are not accepted", MQTT 3.1.1 §3.2.2.3. */
export function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 4 || code === 5 || code === 134 || code === 135;
}

/**
 * CONNACK codes that mean "not now" (MQTT 3.1.1 §3.2.2.3 code 3, server unavailable; MQTT 5
 * server unavailable, server busy, connection rate exceeded): a restarting hub says this to the
 * whole fleet at once, so the retry must be as short and as jittered as after a lost connection.
 */
export function isBusyRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 3 || code === 136 || code === 137 || code === 159;
}

/**
 * A broker's refusal (a numeric reason code; socket errors carry string codes like ECONNREFUSED).
 * After a CONNACK refusal mqtt.js does not reconnect by itself.
 */
export function isConnackRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && code > 0;
}
