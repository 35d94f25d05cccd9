import { Command } from 'commander';
import { auditEntrySchema, listSchema, type AuditEntry } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { parseOutputFormat, renderList, type Columns } from '../output/format.js';
import { parseDuration, parsePositiveInt } from '../parse.js';
import { errorMessage } from '../../common/errors.js';

const auditColumns: Columns<AuditEntry> = {
  // HUB: which hub answered, where several share one log ('-' with one hub).
  headers: ['TIME', 'WHO', 'ROLE', 'METHOD', 'ROUTE', 'OBJECT', 'STATUS', 'HUB'],
  row: (e) => [e.time, e.who, e.role, e.method, e.route, e.object || '-', String(e.status), e.hub ?? '-'],
  wideHeaders: ['SOURCE'],
  wideRow: (e) => [e.source],
  name: (e) => `audit/${e.time}`,
};

/** `--since 2h` (that long ago) or an ISO time; checked here so the error names the flag. */
function sinceFrom(text: string, now: Date): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw new CliError(`--since: not a time: ${text}`);
    return new Date(at).toISOString();
  }
  try {
    return new Date(now.getTime() - parseDuration(text) * 1000).toISOString();
  } catch (err) {
    throw new CliError(`--since: ${errorMessage(err)} (or an ISO time like 2026-11-30T08:00:00Z)`);
  }
}

export function auditCommand(): Command {
  return new Command('audit')
    .description('Show the audit log: every write through the API, who made it, when, and its result (admin only)')
    .option('--who <name>', 'only writes made with this token name (admin: the bootstrap admin token)')
    .option('--since <duration|time>', 'only writes since then: 1h, 2d, or an ISO time')
    .option('--limit <n>', 'at most this many, the newest (1 to 10000)', '500')
    .option('-o, --output <format>', 'wide | json | yaml')
    .addHelpText('after', '\nExamples:\n  edgepilot audit\n  edgepilot audit --who alice --since 24h\n  edgepilot audit -o json')
    .action(async (options: { who?: string; since?: string; limit: string; output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const limit = parsePositiveInt(options.limit, '--limit');
      if (limit > 10_000) throw new CliError(`--limit: at most 10000 (got ${options.limit})`);
      const query = new URLSearchParams({ limit: String(limit) });
      if (options.who !== undefined) query.set('who', options.who);
      if (options.since !== undefined) query.set('since', sinceFrom(options.since, new Date()));
      const client = await hubClientFor(command);
      const list = await client.request('GET', `/v1/audit?${query.toString()}`, listSchema(auditEntrySchema));
      print(renderList(list.items, format, auditColumns, 'No audit entries.'));
    });
}
