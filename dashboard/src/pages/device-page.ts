// One device: facts, labels and taints, the instances placed on it, its events, and each attached
// MCU with its firmware and a live telemetry chart.
import { LitElement, html, type PropertyValues, type TemplateResult } from 'lit';
import type { DeviceDetail } from '../../../src/protocol/schemas/api.js';
import type { InstanceStatus, WorkloadView } from '../../../src/protocol/schemas/workload-api.js';
import { getJson } from '../api.js';
import { LiveData } from '../polling.js';
import { age, badge, labelsText, tableStyles } from '../shared.js';
import '../telemetry-chart.js';

export class DevicePage extends LitElement {
  static override properties = { deviceId: {}, device: { state: true }, instances: { state: true }, error: { state: true } };
  declare deviceId: string;
  declare device: DeviceDetail | null;
  declare instances: InstanceStatus[];
  declare error: string;
  constructor() {
    super();
    this.deviceId = '';
    this.device = null;
    this.instances = [];
    this.error = '';
    new LiveData(this, ['devices', 'workloads'], () => this.load());
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('deviceId')) void this.load();
  }

  private async load(): Promise<void> {
    if (!this.deviceId) return;
    try {
      const id = encodeURIComponent(this.deviceId);
      const [device, workloads] = await Promise.all([getJson<DeviceDetail>(`/v1/devices/${id}`), getJson<{ items: WorkloadView[] }>('/v1/workloads')]);
      this.device = device;
      this.instances = workloads.items.flatMap((w) => w.status.instances.filter((i) => i.device === this.deviceId));
      this.error = '';
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  override render(): TemplateResult {
    const d = this.device;
    if (!d) return html`<p>${this.error || 'loading…'}</p>`;
    const f = d.facts;
    return html`<h2>${d.id} ${badge(d.state)}</h2>
      <p class="muted">${d.hostname} · ${f?.arch ?? ''} · ${f ? `${f.os.distro} ${f.os.release} · ${f.board.model}` : ''} · agent ${d.agentVersion ?? '?'} · last seen ${age(d.lastSeen)} ago</p>
      <h3>Labels and taints</h3>
      <p>${labelsText(d.labels) || html`<span class="muted">no labels</span>`}</p>
      <p>${d.taints.length ? d.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') : html`<span class="muted">no taints</span>`}${d.unschedulable ? ' · cordoned' : ''}</p>
      <h3>Instances</h3>
      <table data-testid="instances">
        <thead><tr><th>INSTANCE</th><th>WORKLOAD</th><th>PHASE</th><th>READY</th><th>RESTARTS</th></tr></thead>
        <tbody>${this.instances.map((i) => html`<tr><td>${i.id}</td><td>${i.workload}</td><td>${badge(i.phase)}</td><td>${i.ready ? 'yes' : 'no'}</td><td>${i.restarts}</td></tr>`)}</tbody>
      </table>
      <h3>Microcontrollers</h3>
      ${(f?.mcus ?? []).length === 0 ? html`<p class="muted">none attached</p>` : ''}
      ${(f?.mcus ?? []).map(
        (m) => html`<section class="mcu" data-mcu=${m.id}>
          <p>${m.id} · ${m.model} · ${m.application} firmware ${m.firmwareVersion} · ${m.port} ${m.online ? badge('online') : badge('offline')}</p>
          <ep-telemetry-chart .gateway=${d.id} .mcu=${m.id}></ep-telemetry-chart>
        </section>`,
      )}
      <h3>Events</h3>
      <table>
        <thead><tr><th>AGE</th><th>TYPE</th><th>REASON</th><th>MESSAGE</th></tr></thead>
        <tbody>${d.events.slice(-30).reverse().map((e) => html`<tr><td>${age(e.time)}</td><td>${e.type}</td><td>${e.reason}</td><td>${e.message}</td></tr>`)}</tbody>
      </table>`;
  }

  static override styles = [tableStyles];
}

customElements.define('ep-device-page', DevicePage);
