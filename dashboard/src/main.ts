// The dashboard shell: log-in with a token, then pages chosen by the URL's hash (#/fleet,
// #/devices/<id>, …). Everything it shows comes from the hub's API with that token, so a page
// shows exactly what the token's role may read, and offers only what it may change.
import { LitElement, css, html, type TemplateResult } from 'lit';
import { ApiError, getJson, session, type Identity } from './api.js';
import './pages/fleet-page.js';
import './pages/device-page.js';
import './pages/workloads-page.js';
import './pages/firmware-page.js';
import './pages/rollouts-page.js';
import './pages/jobs-page.js';

const pages = [
  ['fleet', 'Fleet'],
  ['workloads', 'Workloads'],
  ['firmware', 'Firmware'],
  ['rollouts', 'Rollouts'],
  ['jobs', 'Jobs'],
] as const;

export class EpApp extends LitElement {
  static override properties = { identity: { state: true }, route: { state: true }, error: { state: true } };
  declare identity: Identity | null;
  declare route: string[];
  declare error: string;

  constructor() {
    super();
    this.identity = null;
    this.route = routeOf(location.hash);
    this.error = '';
    addEventListener('hashchange', () => (this.route = routeOf(location.hash)));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (session.token) void this.whoami();
  }

  private async whoami(): Promise<void> {
    try {
      this.identity = await getJson<Identity>('/v1/whoami');
      this.error = '';
    } catch (err) {
      session.clear();
      this.identity = null;
      this.error = err instanceof ApiError && err.status === 401 ? 'The hub does not accept this token.' : `Cannot reach the hub: ${(err as Error).message}`;
    }
  }

  private login(event: SubmitEvent): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    session.set(input.value.trim());
    void this.whoami();
  }

  private logout(): void {
    session.clear();
    this.identity = null;
  }

  override render(): TemplateResult {
    if (!this.identity) {
      return html`<form class="login" @submit=${this.login}>
        <h1>edgepilot</h1>
        <label>API token <input name="token" type="password" autocomplete="off" required placeholder="ep_… or epu_…" /></label>
        <button type="submit">Log in</button>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
        <p class="hint">Ask an admin for a token: <code>edgepilot token create --role viewer --name &lt;you&gt;</code>.</p>
      </form>`;
    }
    const [page = 'fleet', arg] = this.route;
    return html`<header>
        <strong>edgepilot</strong>
        <nav>${pages.map(([id, title]) => html`<a href="#/${id}" class=${page === id ? 'active' : ''}>${title}</a>`)}</nav>
        <span class="who">${this.identity.name} (${this.identity.role}) <button @click=${this.logout}>Log out</button></span>
      </header>
      <main>${this.page(page, arg)}</main>`;
  }

  private page(page: string, arg: string | undefined): TemplateResult {
    const role = this.identity?.role ?? 'viewer';
    switch (page) {
      case 'devices':
        return html`<ep-device-page .deviceId=${arg ?? ''}></ep-device-page>`;
      case 'workloads':
        return html`<ep-workloads-page></ep-workloads-page>`;
      case 'firmware':
        return html`<ep-firmware-page></ep-firmware-page>`;
      case 'rollouts':
        return html`<ep-rollouts-page .role=${role}></ep-rollouts-page>`;
      case 'jobs':
        return html`<ep-jobs-page></ep-jobs-page>`;
      default:
        return html`<ep-fleet-page></ep-fleet-page>`;
    }
  }

  static override styles = css`
    header { display: flex; gap: 1.5rem; align-items: center; padding: 0.6rem 1.2rem; background: #1d232a; color: #fff; }
    nav a { color: #cfd8e3; margin-right: 1rem; text-decoration: none; }
    nav a.active { color: #fff; font-weight: 600; }
    .who { margin-left: auto; font-size: 0.9rem; }
    main { padding: 1rem 1.2rem; }
    .login { max-width: 24rem; margin: 15vh auto; background: #fff; padding: 2rem; border-radius: 8px; display: grid; gap: 1rem; box-shadow: 0 1px 4px #0002; }
    .login input { width: 100%; box-sizing: border-box; padding: 0.4rem; }
    .error { color: var(--bad); }
    .hint { color: var(--muted); font-size: 0.85rem; }
  `;
}

function routeOf(hash: string): string[] {
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

customElements.define('ep-app', EpApp);
