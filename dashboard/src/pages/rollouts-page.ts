// Rollouts: each one's waves with progress bars, its devices' states and its history, and for
// operators and admins the buttons that pause, resume, promote and abort it. A viewer gets no
// buttons (and the API would refuse them anyway).
import { LitElement, css, html, type TemplateResult } from 'lit';
import type { RolloutView } from '../../../src/protocol/schemas/rollout-api.js';
import { getJson, postJson, type Role } from '../api.js';
import { LiveData } from '../polling.js';
import { age, badge, tableStyles } from '../shared.js';

type Command = 'pause' | 'resume' | 'promote' | 'abort';

export class RolloutsPage extends LitElement {
  static override properties = { role: {}, items: { state: true }, message: { state: true } };
  declare role: Role;
  declare items: RolloutView[];
  declare message: string;

  constructor() {
    super();
    this.role = 'viewer';
    this.items = [];
    this.message = '';
    new LiveData(this, ['rollouts'], async () => {
      this.items = (await getJson<{ items: RolloutView[] }>('/v1/rollouts')).items;
    });
  }

  private async command(rollout: string, type: Command): Promise<void> {
    try {
      const updated = await postJson<RolloutView>(`/v1/rollouts/${encodeURIComponent(rollout)}/commands`, { type, actor: 'dashboard' });
      this.items = this.items.map((r) => (r.name === rollout ? { ...r, ...updated } : r));
      this.message = `${rollout}: ${type} accepted (${updated.phase})`;
    } catch (err) {
      this.message = `${rollout}: ${type} refused: ${(err as Error).message}`;
    }
  }

  private buttons(r: RolloutView): TemplateResult | string {
    if (this.role === 'viewer') return '';
    const finished = ['completed', 'aborted', 'rolled-back'].includes(r.phase);
    if (finished) return '';
    const button = (type: Command, label: string): TemplateResult => html`<button data-action=${type} @click=${() => this.command(r.name, type)}>${label}</button>`;
    return html`<span class="actions">${r.phase === 'paused' ? button('resume', 'Resume') : button('pause', 'Pause')} ${button('promote', 'Promote')} ${button('abort', 'Abort')}</span>`;
  }

  override render(): TemplateResult {
    return html`<h2>Rollouts</h2>
      ${this.message ? html`<p class="message" role="status">${this.message}</p>` : ''}
      ${this.items.length === 0 ? html`<p class="muted">No rollouts.</p>` : ''}
      ${this.items.map(
        (r) => html`<section class="rollout" data-rollout=${r.name}>
          <h3>${r.name} → ${r.release.name}@${r.release.version} <span class="phase" data-testid="phase">${badge(r.phase)}</span> ${this.buttons(r)}</h3>
          ${r.pause ? html`<p class="muted">paused (${r.pause.kind}): ${r.pause.reason}</p>` : ''}
          <table>
            <thead><tr><th>WAVE</th><th>STATE</th><th>PROGRESS</th><th>HEALTHY</th><th>FAILED</th><th>TOTAL</th></tr></thead>
            <tbody>${r.waves.map((w) => {
              const done = w.counts.healthy + w.counts.failed;
              return html`<tr><td>${w.name}</td><td>${badge(w.state)}</td><td><progress max=${Math.max(1, w.counts.total)} value=${done}></progress></td><td>${w.counts.healthy}</td><td>${w.counts.failed}</td><td>${w.counts.total}</td></tr>`;
            })}</tbody>
          </table>
          <details><summary>${r.devices.length} devices · history (${r.history.length})</summary>
            <table><tbody>${r.devices.map((d) => html`<tr><td><a href="#/devices/${encodeURIComponent(d.id)}">${d.id}</a></td><td>wave ${d.wave}</td><td>${badge(d.state)}</td><td class="muted">${d.reason ?? ''}</td></tr>`)}</tbody></table>
            <table><tbody>${r.history.slice(-20).reverse().map((h) => html`<tr><td>${age(h.at)} ago</td><td>${h.type}</td><td>${h.message}</td></tr>`)}</tbody></table>
          </details>
        </section>`,
      )}`;
  }

  static override styles = [tableStyles, css`.rollout { background: #fff; padding: 0.4rem 0.8rem 0.8rem; margin-bottom: 1rem; border-radius: 6px; } .actions button { margin-left: 0.3rem; }`];
}

customElements.define('ep-rollouts-page', RolloutsPage);
