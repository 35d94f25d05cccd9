// Fleet overview: counts by site and status, a label filter and a search, and every device in a
// virtualised table (only the rows in view are in the DOM, so 5,000 devices stay responsive).
// The list is the hub's device watch: ADDED/MODIFIED/DELETED lines keep it live.
import { LitElement, css, html, type TemplateResult } from 'lit';
import type { DeviceView } from '../../../src/protocol/schemas/api.js';
import { followNdjson } from '../api.js';
import { age, badge, labelsText, tableStyles } from '../shared.js';

const ROW_HEIGHT = 32;
const OVERSCAN = 10;

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: DeviceView;
}

export class FleetPage extends LitElement {
  static override properties = { version: { state: true }, filter: { state: true }, search: { state: true }, scrollTop: { state: true }, streamError: { state: true } };
  declare version: number;
  declare filter: string;
  declare search: string;
  declare scrollTop: number;
  declare streamError: string;
  private readonly devices = new Map<string, DeviceView>();
  private stop: (() => void) | undefined;
  private pending = false;

  constructor() {
    super();
    this.version = 0;
    this.filter = '';
    this.search = '';
    this.scrollTop = 0;
    this.streamError = '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.stop = followNdjson<WatchEvent>('/v1/devices?watch=true', (event) => {
      if (event.type === 'DELETED') this.devices.delete(event.object.id);
      else this.devices.set(event.object.id, event.object);
      // A burst of events (5,000 ADDED at start) renders once per frame, not once per line.
      if (!this.pending) {
        this.pending = true;
        requestAnimationFrame(() => {
          this.pending = false;
          this.version += 1;
        });
      }
    }, (err) => (this.streamError = err ? `live updates stopped: ${(err as Error).message}` : 'live updates ended (hub restarting?)'));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop?.();
  }

  private visible(): DeviceView[] {
    const wanted = this.filter
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => p.split('=') as [string, string | undefined]);
    const needle = this.search.trim().toLowerCase();
    return [...this.devices.values()]
      .filter((d) => wanted.every(([k, v]) => (v === undefined ? k in d.labels : d.labels[k] === v)))
      .filter((d) => !needle || d.id.toLowerCase().includes(needle) || d.hostname.toLowerCase().includes(needle) || labelsText(d.labels).toLowerCase().includes(needle))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  override render(): TemplateResult {
    const all = [...this.devices.values()];
    const shown = this.visible();
    const sites = new Map<string, { online: number; total: number }>();
    for (const d of all) {
      const site = d.labels.site ?? '(no site)';
      const s = sites.get(site) ?? { online: 0, total: 0 };
      s.total += 1;
      if (d.state === 'online') s.online += 1;
      sites.set(site, s);
    }
    const first = Math.max(0, Math.floor(this.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(shown.length, first + Math.ceil(600 / ROW_HEIGHT) + 2 * OVERSCAN);
    return html`<h2>Fleet</h2>
      <div class="cards">
        <div class="card" data-testid="count-total"><b>${all.length}</b>devices</div>
        <div class="card" data-testid="count-online"><b>${all.filter((d) => d.state === 'online').length}</b>online</div>
        <div class="card"><b>${all.filter((d) => d.state !== 'online').length}</b>offline</div>
        ${[...sites].sort().map(([site, s]) => html`<div class="card"><b>${s.online}/${s.total}</b>${site}</div>`)}
      </div>
      <div class="filters">
        <label>Labels <input data-testid="filter" placeholder="site=plant-3, role=gateway" .value=${this.filter} @input=${(e: Event) => (this.filter = (e.target as HTMLInputElement).value)} /></label>
        <label>Search <input data-testid="search" placeholder="id, hostname, label" .value=${this.search} @input=${(e: Event) => (this.search = (e.target as HTMLInputElement).value)} /></label>
        <span class="muted" data-testid="shown">${shown.length} shown</span>
        ${this.streamError ? html`<span class="error">${this.streamError}</span>` : ''}
      </div>
      <div class="viewport" @scroll=${(e: Event) => (this.scrollTop = (e.target as HTMLElement).scrollTop)}>
        <table>
          <thead><tr><th>DEVICE</th><th>STATUS</th><th>SITE</th><th>ARCH</th><th>MCUS</th><th>AGENT</th><th>LAST SEEN</th><th>LABELS</th></tr></thead>
          <tbody>
            <tr style="height:${first * ROW_HEIGHT}px"></tr>
            ${shown.slice(first, last).map(
              (d) => html`<tr class="row" data-device=${d.id}>
                <td><a href="#/devices/${encodeURIComponent(d.id)}">${d.id}</a></td>
                <td>${badge(d.state)}${d.unschedulable ? html` <span class="badge">cordoned</span>` : ''}</td>
                <td>${d.labels.site ?? ''}</td>
                <td>${d.facts?.arch ?? ''}</td>
                <td>${d.facts?.mcus.length ?? 0}</td>
                <td>${d.agentVersion ?? ''}</td>
                <td>${age(d.lastSeen)}</td>
                <td class="muted">${labelsText(d.labels)}</td>
              </tr>`,
            )}
            <tr style="height:${(shown.length - last) * ROW_HEIGHT}px"></tr>
          </tbody>
        </table>
      </div>`;
  }

  static override styles = [
    tableStyles,
    css`
      .filters { display: flex; gap: 1rem; align-items: center; margin-bottom: 0.6rem; }
      .viewport { height: 600px; overflow-y: auto; border: 1px solid var(--line, #dde2e7); }
      tr.row { height: ${ROW_HEIGHT}px; }
      .error { color: #c62828; }
    `,
  ];
}

customElements.define('ep-fleet-page', FleetPage);
