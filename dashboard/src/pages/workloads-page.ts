// Workloads: desired, placed, running and ready replicas, and each one's instances by device.
import { LitElement, html, type TemplateResult } from 'lit';
import type { WorkloadView } from '../../../src/protocol/schemas/workload-api.js';
import { followNdjson, getJson } from '../api.js';
import { LiveData } from '../polling.js';
import { badge, tableStyles } from '../shared.js';

export class WorkloadsPage extends LitElement {
  static override properties = { items: { state: true }, open: { state: true }, logs: { state: true } };
  declare items: WorkloadView[];
  declare open: string;
  /** The last lines of the open workload's instances (its devices answer through the hub). */
  declare logs: string[];
  private stopLogs: (() => void) | undefined;

  constructor() {
    super();
    this.items = [];
    this.open = '';
    this.logs = [];
    new LiveData(this, ['workloads'], async () => {
      this.items = (await getJson<{ items: WorkloadView[] }>('/v1/workloads')).items;
    });
  }

  override render(): TemplateResult {
    return html`<h2>Workloads</h2>
      <table data-testid="workloads">
        <thead><tr><th>NAME</th><th>REPLICAS</th><th>DESIRED</th><th>PLACED</th><th>RUNNING</th><th>READY</th><th>REVISION</th><th>NOTE</th></tr></thead>
        <tbody>
          ${this.items.map(
            (w) => html`<tr>
                <td><a href="#/workloads" data-workload=${w.name} @click=${(e: Event) => { e.preventDefault(); this.toggle(w.name); }}>${w.name}</a></td>
                <td>${w.spec.replicas}</td><td>${w.status.desired}</td><td>${w.status.placed}</td><td>${w.status.running}</td><td>${w.status.ready}</td>
                <td class="muted">${w.revision}</td><td class="muted">${w.status.unplacedReason ?? ''}</td>
              </tr>
              ${this.open === w.name
                ? w.status.instances.map(
                    (i) => html`<tr class="instance"><td>↳ ${i.id}</td><td colspan="2"><a href="#/devices/${encodeURIComponent(i.device)}">${i.device}</a></td><td>${badge(i.phase)}</td><td>${i.ready ? 'ready' : ''}</td><td>${i.restarts} restarts</td><td colspan="2"></td></tr>`,
                  )
                : ''}`,
          )}
        </tbody>
      </table>
      ${this.open ? html`<h3>Logs of ${this.open} (last 50 lines per instance)</h3><pre data-testid="logs">${this.logs.join('\n') || 'waiting for the devices…'}</pre>` : ''}`;
  }

  private toggle(name: string): void {
    this.stopLogs?.();
    this.logs = [];
    this.open = this.open === name ? '' : name;
    if (!this.open) return;
    this.stopLogs = followNdjson<{ device: string; instance?: string; text?: string; error?: string }>(`/v1/workloads/${encodeURIComponent(name)}/logs?tail=50`, (line) => {
      this.logs = [...this.logs, line.error ? `${line.device}: ${line.error}` : `${line.device} ${line.instance ?? ''}: ${line.text ?? ''}`].slice(-500);
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopLogs?.();
  }

  static override styles = [tableStyles];
}

customElements.define('ep-workloads-page', WorkloadsPage);
