import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsSample, ReportedState, RolloutState } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';

/**
 * What `/metrics` reads at scrape time. Gauges are computed from the hub's own state when
 * Prometheus asks (not kept up to date on every change), so a fleet of 20,000 devices costs one
 * pass per scrape and nothing in between.
 */
export interface HubMetricSources {
  devices(): Promise<readonly Readonly<DeviceRecord>[]>;
  /** Visits every device's reported state once. */
  reported(visit: (deviceId: string, reported: Readonly<ReportedState> | undefined) => void): Promise<void>;
  rollouts(): Promise<readonly RolloutState[]>;
  /** Device usage samples no older than a couple of minutes (what `edgepilot top` shows). */
  usage(): Map<string, MetricsSample>;
  mqttClients?: () => number;
}

/** Where a flash ended: `succeeded`, or the reason class it failed with. */
export type FlashOutcome = 'succeeded' | 'failed';

/**
 * The hub's Prometheus metrics (issue 16). Names follow Prometheus' conventions: a unit suffix,
 * `_total` for counters, base units (seconds, bytes). Device metrics are the agents' own samples,
 * relayed by the hub so that Prometheus scrapes one target, not a port on every device.
 */
export class HubMetrics {
  readonly registry = new Registry();
  /**
   * MQTT traffic is counted in plain numbers and handed to the counters at a scrape: a labelled
   * counter's inc hashes its labels each time, which was a measurable share of the hub's CPU in a
   * rollout of thousands of devices (one call per message).
   */
  private readonly traffic = { in: { messages: 0, bytes: 0 }, out: { messages: 0, bytes: 0 } };
  private readonly mqttMessages = this.trafficCounter('edgepilot_mqtt_messages_total', 'MQTT messages the hub received from devices (in) and published to them (out).', 'messages');
  private readonly mqttBytes = this.trafficCounter('edgepilot_mqtt_bytes_total', 'Payload bytes of the MQTT messages the hub received (in) and published (out).', 'bytes');
  private readonly mqttDropped = new Counter({ name: 'edgepilot_mqtt_dropped_messages_total', help: 'Messages from devices the hub dropped (malformed, oversized, or on a topic they may not use).', registers: [this.registry] });
  private readonly passSeconds = new Histogram({
    name: 'edgepilot_placement_pass_duration_seconds',
    help: 'Duration of the desired-state passes (placement, desired documents, store writes, publishes).',
    labelNames: ['part'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly storeWriteSeconds = new Histogram({
    name: 'edgepilot_store_write_duration_seconds',
    help: 'Durable writes of the hub state: temp file, fsync, rename, fsync of the folder.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly flashes = new Counter({ name: 'edgepilot_mcu_flashes_total', help: 'MCU flashes the hub asked a gateway for, by how they ended.', labelNames: ['outcome', 'source'], registers: [this.registry] });

  constructor(sources: HubMetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'edgepilot_hub_' });
    // Known label sets start at zero, so that rate() and alerts see them before the first event.
    for (const direction of ['in', 'out']) {
      this.mqttMessages.inc({ direction }, 0);
      this.mqttBytes.inc({ direction }, 0);
    }
    for (const part of ['total', 'placement']) this.passSeconds.zero({ part });
    for (const outcome of ['succeeded', 'failed'] as const) for (const source of ['cli', 'rollout']) this.flashes.inc({ outcome, source }, 0);
    const registers = [this.registry];
    new Gauge({
      name: 'edgepilot_devices',
      help: 'Registered devices by connection status (pending: approved but never connected).',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset();
        const counts = new Map<string, number>([['online', 0], ['offline', 0]]);
        for (const device of await sources.devices()) {
          const status = device.status?.state ?? 'never-connected';
          counts.set(status, (counts.get(status) ?? 0) + 1);
        }
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'edgepilot_instances',
      help: 'Workload instances by the phase their devices last reported.',
      labelNames: ['phase'],
      registers,
      async collect() {
        this.reset();
        const counts = new Map<string, number>();
        await sources.reported((_id, reported) => {
          for (const instance of reported?.instances ?? []) counts.set(instance.phase, (counts.get(instance.phase) ?? 0) + 1);
        });
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    new Gauge({
      name: 'edgepilot_rollout_devices',
      help: 'Devices of each rollout by their state in it.',
      labelNames: ['rollout', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const rollout of await sources.rollouts()) {
          const states = new Map<string, number>();
          for (const d of Object.values(rollout.status.devices)) states.set(d.state, (states.get(d.state) ?? 0) + 1);
          for (const [state, n] of states) this.set({ rollout: rollout.name, state }, n);
        }
      },
    });
    new Gauge({
      name: 'edgepilot_rollout_wave',
      help: 'The wave each rollout is in (index into its waves; -1 before the first) with its phase as a label.',
      labelNames: ['rollout', 'phase'],
      registers,
      async collect() {
        this.reset();
        for (const rollout of await sources.rollouts()) this.set({ rollout: rollout.name, phase: rollout.status.phase }, rollout.status.currentWave);
      },
    });
    // prom-client collects metrics concurrently: each gauge reads its own sources in its own
    // collect (a gauge filled by another's collect could be serialised before it was filled).
    const fromSamples = (name: string, help: string, labelNames: string[], fill: (set: (labels: Record<string, string>, value: number) => void, device: string, sample: MetricsSample) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [device, sample] of sources.usage()) fill((labels, value) => this.set(labels, value), device, sample);
        },
      });
    };
    fromSamples('edgepilot_device_cpu_usage_percent', "CPU use of each device (100 = one core busy), from its agent's last sample.", ['device'], (set, device, s) => set({ device }, s.device.cpuPercent));
    fromSamples('edgepilot_device_memory_used_bytes', "Memory in use on each device, from its agent's last sample.", ['device'], (set, device, s) => set({ device }, s.device.memoryUsedBytes));
    const instanceLabels = ['device', 'workload', 'instance'];
    fromSamples('edgepilot_instance_cpu_usage_percent', "CPU use of each workload instance, from its device's last sample.", instanceLabels, (set, device, s) => {
      for (const i of s.instances) set({ device, workload: i.workload, instance: i.id }, i.cpuPercent);
    });
    fromSamples('edgepilot_instance_memory_bytes', "Memory of each workload instance, from its device's last sample.", instanceLabels, (set, device, s) => {
      for (const i of s.instances) set({ device, workload: i.workload, instance: i.id }, i.memoryBytes);
    });
    fromSamples('edgepilot_instance_custom_metric', 'Metrics a workload writes to EDGEPILOT_METRICS_FILE, relayed by its agent, by name.', [...instanceLabels, 'name'], (set, device, s) => {
      for (const i of s.instances) for (const [name, value] of Object.entries(i.custom)) set({ device, workload: i.workload, instance: i.id, name }, value);
    });
    if (sources.mqttClients) {
      const clients = sources.mqttClients;
      new Gauge({ name: 'edgepilot_mqtt_clients', help: 'Clients connected to the embedded broker (devices and the hub itself).', registers, collect() { this.set(clients()); } });
    }
  }

  messageReceived(bytes: number): void {
    this.traffic.in.messages += 1;
    this.traffic.in.bytes += bytes;
  }

  messagePublished(bytes: number): void {
    this.traffic.out.messages += 1;
    this.traffic.out.bytes += bytes;
  }

  /** A counter by direction that takes what `traffic` counted since the last scrape. */
  private trafficCounter(name: string, help: string, field: 'messages' | 'bytes'): Counter<'direction'> {
    const traffic = this.traffic;
    const handed = { in: 0, out: 0 };
    return new Counter({
      name,
      help,
      labelNames: ['direction'],
      registers: [this.registry],
      collect() {
        for (const direction of ['in', 'out'] as const) {
          const total = traffic[direction][field];
          if (total > handed[direction]) this.inc({ direction }, total - handed[direction]);
          handed[direction] = total;
        }
      },
    });
  }

  messageDropped(): void {
    this.mqttDropped.inc();
  }

  passTimed(totalMs: number, placementMs: number): void {
    this.passSeconds.observe({ part: 'total' }, totalMs / 1000);
    this.passSeconds.observe({ part: 'placement' }, placementMs / 1000);
  }

  storeWriteTimed(seconds: number): void {
    this.storeWriteSeconds.observe(seconds);
  }

  flashEnded(outcome: FlashOutcome, source: 'cli' | 'rollout'): void {
    this.flashes.inc({ outcome, source });
  }

  /** The exposition in Prometheus' text format, and its content type. */
  async exposition(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
