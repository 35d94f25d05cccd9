// Workloads: desired, placed, running and ready replicas, and each one's instances by device.
import { LitElement, html, type TemplateResult } from 'lit';
import type { WorkloadView } from '../../../src/protocol/schemas/workload-api.js';
import { getJson } from '../api.js';
import { LiveData } from '../polling.js';
import { badge, tableStyles } from '../shared.js';

export class WorkloadsPage extends LitElement {
  static override properties = { items: { state: true }, open: { state: true } };
  declare items: WorkloadView[];
  declare open: string;

  constructor() {
    super();
    this.items = [];
    this.open = '';
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
                <td><a href="#/workloads" @click=${(e: Event) => { e.preventDefault(); this.open = this.open === w.name ? '' : w.name; }}>${w.name}</a></td>
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
      </table>`;
  }

  static override styles = [tableStyles];
}

customElements.define('ep-workloads-page', WorkloadsPage);
