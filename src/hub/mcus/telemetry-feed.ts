/**
 * The latest telemetry of every MCU, in memory: a short history per MCU for
 * `edgepilot telemetry` and the last sample for `get mcus`, plus live subscribers for
 * `telemetry -f`. Telemetry is a stream, not state: after a hub restart it refills within
 * one telemetry interval, so it is not written to the store.
 */
import type { McuTelemetry } from '../../protocol/index.js';

type Listener = (telemetry: McuTelemetry) => void;

export class TelemetryFeed {
  private readonly history = new Map<string, McuTelemetry[]>();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly keep = 64) {}

  record(gateway: string, telemetry: McuTelemetry): void {
    const key = keyOf(gateway, telemetry.mcu);
    const list = this.history.get(key) ?? [];
    list.push(telemetry);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
    this.history.set(key, list);
    for (const listener of this.listeners.get(key) ?? []) listener(telemetry);
  }

  latest(gateway: string, mcu: string): McuTelemetry | undefined {
    return this.history.get(keyOf(gateway, mcu))?.at(-1);
  }

  recent(gateway: string, mcu: string, count: number): McuTelemetry[] {
    return count <= 0 ? [] : (this.history.get(keyOf(gateway, mcu)) ?? []).slice(-count);
  }

  subscribe(gateway: string, mcu: string, listener: Listener): () => void {
    const key = keyOf(gateway, mcu);
    const set = this.listeners.get(key) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(key, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }
}

function keyOf(gateway: string, mcu: string): string {
  return `${gateway}/${mcu}`;
}
