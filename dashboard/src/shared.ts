// Pieces every page uses: table styles, ages, status badges.
import { css, html, type TemplateResult } from 'lit';

export const tableStyles = css`
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 0.9rem; }
  th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line, #dde2e7); white-space: nowrap; }
  th { background: #eef1f4; position: sticky; top: 0; }
  h2 { margin: 0.5rem 0; }
  h3 { margin: 1.2rem 0 0.4rem; }
  .muted { color: var(--muted, #66707a); }
  .badge { padding: 0.05rem 0.45rem; border-radius: 999px; font-size: 0.8rem; background: #e3e7eb; }
  .online, .running, .succeeded, .healthy, .Complete { background: #dcf3e2; color: #1a7f37; }
  .offline, .failed, .Failed, .crashloop { background: #fde2e1; color: #c62828; }
  .cards { display: flex; gap: 0.8rem; flex-wrap: wrap; margin: 0.6rem 0 1rem; }
  .card { background: #fff; border-radius: 6px; padding: 0.6rem 0.9rem; box-shadow: 0 1px 3px #0001; min-width: 8rem; }
  .card b { font-size: 1.4rem; display: block; }
  button { cursor: pointer; }
`;

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function badge(text: string): TemplateResult {
  return html`<span class="badge ${text}">${text}</span>`;
}

export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ');
}
