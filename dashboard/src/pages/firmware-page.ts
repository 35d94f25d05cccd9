// Firmware: the signed images the hub holds, and which MCU runs what.
import { LitElement, html, type TemplateResult } from 'lit';
import type { FirmwareImageView } from '../../../src/protocol/schemas/firmware.js';
import type { McuView } from '../../../src/protocol/schemas/mcu.js';
import { getJson } from '../api.js';
import { LiveData } from '../polling.js';
import { age, badge, tableStyles } from '../shared.js';

export class FirmwarePage extends LitElement {
  static override properties = { images: { state: true }, mcus: { state: true } };
  declare images: FirmwareImageView[];
  declare mcus: McuView[];

  constructor() {
    super();
    this.images = [];
    this.mcus = [];
    new LiveData(this, ['devices'], async () => {
      const [images, mcus] = await Promise.all([getJson<{ items: FirmwareImageView[] }>('/v1/firmware'), getJson<{ items: McuView[] }>('/v1/mcus')]);
      this.images = images.items;
      this.mcus = mcus.items;
    });
  }

  override render(): TemplateResult {
    return html`<h2>Firmware images</h2>
      <table data-testid="firmware">
        <thead><tr><th>TARGET</th><th>VERSION</th><th>SIZE</th><th>SIGNED BY</th><th>SHA-256</th><th>UPLOADED</th></tr></thead>
        <tbody>${this.images.map((f) => html`<tr><td>${f.target}</td><td>${f.version}</td><td>${f.size} B</td><td>${f.keyId} ${f.keyTrusted ? '' : badge('untrusted')}</td><td class="muted">${f.sha256.slice(0, 16)}…</td><td>${age(f.uploadedAt)} ago</td></tr>`)}</tbody>
      </table>
      <h2>Microcontrollers</h2>
      <table data-testid="mcus">
        <thead><tr><th>GATEWAY</th><th>MCU</th><th>MODEL</th><th>APPLICATION</th><th>FIRMWARE</th><th>STATUS</th><th>LAST TELEMETRY</th></tr></thead>
        <tbody>${this.mcus.map((m) => html`<tr><td><a href="#/devices/${encodeURIComponent(m.gateway)}">${m.gateway}</a></td><td>${m.id}</td><td>${m.model}</td><td>${m.application}</td><td>${m.firmwareVersion}</td><td>${badge(m.online ? 'online' : 'offline')}</td><td>${m.lastTelemetry ? `${age(m.lastTelemetry.time)} ago` : '-'}</td></tr>`)}</tbody>
      </table>`;
  }

  static override styles = [tableStyles];
}

customElements.define('ep-firmware-page', FirmwarePage);
