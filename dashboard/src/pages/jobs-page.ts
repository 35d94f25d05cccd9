// Jobs and CronJobs: state, completions per device, schedules and what runs now.
import { LitElement, html, type TemplateResult } from 'lit';
import type { CronJobView, JobView } from '../../../src/protocol/schemas/job-api.js';
import { getJson } from '../api.js';
import { LiveData } from '../polling.js';
import { age, badge, tableStyles } from '../shared.js';

export class JobsPage extends LitElement {
  static override properties = { jobs: { state: true }, cronJobs: { state: true } };
  declare jobs: JobView[];
  declare cronJobs: CronJobView[];

  constructor() {
    super();
    this.jobs = [];
    this.cronJobs = [];
    new LiveData(this, ['jobs'], async () => {
      const [jobs, cronJobs] = await Promise.all([getJson<{ items: JobView[] }>('/v1/jobs'), getJson<{ items: CronJobView[] }>('/v1/cronjobs')]);
      this.jobs = jobs.items;
      this.cronJobs = cronJobs.items;
    });
  }

  override render(): TemplateResult {
    return html`<h2>Jobs</h2>
      <table data-testid="jobs">
        <thead><tr><th>NAME</th><th>STATE</th><th>COMPLETIONS</th><th>PLACEMENT</th><th>DEVICES</th><th>AGE</th></tr></thead>
        <tbody>${this.jobs.map((j) => html`<tr><td>${j.name}</td><td>${badge(j.status.state)}</td><td>${j.status.completions}</td><td>${j.spec.placement}</td><td>${j.status.devices.map((d) => `${d.device}: ${d.state}`).join(', ')}</td><td>${age(j.createdAt)}</td></tr>`)}</tbody>
      </table>
      <h2>CronJobs</h2>
      <table data-testid="cronjobs">
        <thead><tr><th>NAME</th><th>SCHEDULE</th><th>TIME ZONE</th><th>LAST RUN</th><th>NEXT RUN</th><th>ACTIVE</th><th>DEVICES</th><th>SUSPENDED</th></tr></thead>
        <tbody>${this.cronJobs.map((c) => html`<tr><td>${c.name}</td><td>${c.spec.schedule}</td><td>${c.spec.timeZone}</td><td>${c.status.lastRun ? `${c.status.lastRun.reason} ${age(c.status.lastRun.finishedAt)} ago` : '-'}</td><td>${c.status.nextRun ?? '-'}</td><td>${(c.status.active ?? []).length}</td><td>${c.devices.length}</td><td>${c.spec.suspend ? 'yes' : 'no'}</td></tr>`)}</tbody>
      </table>`;
  }

  static override styles = [tableStyles];
}

customElements.define('ep-jobs-page', JobsPage);
