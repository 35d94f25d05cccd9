import { hashSecret, randomSecret, secretMatches } from '../../../common/ids.js';
import { errorMessage } from '../../../common/errors.js';
import { API_TOKEN_PREFIX, type ApiTokenCreate, type ApiTokenCreated, type ApiTokenView, type Role } from '../../../protocol/index.js';
import { fileApiTokenRepository, type ApiTokenRecord, type ApiTokenRepository } from '../../store/api-token-records.js';

/**
 * Where tokens are kept in a store several hubs share, this hub's copy is read again this often:
 * a token made or revoked at another hub holds here within REFRESH_MS (plus one read's time).
 */
export const API_TOKENS_REFRESH_MS = 1000;
/**
 * A copy older than this (the shared store did not answer) is not trusted: people's tokens are
 * refused until a read succeeds, so a revocation is never missed for longer (the admin token still works).
 */
export const API_TOKENS_STALE_MS = 5000;

export class ApiTokenError extends Error {
  constructor(
    readonly code: 'exists' | 'reserved' | 'unknown' | 'already-revoked',
    message: string,
  ) {
    super(message);
  }
}

/** The caller behind a request, once its token was accepted. */
export interface Caller {
  readonly name: string;
  readonly role: Role;
}

function state(record: ApiTokenRecord, now: Date): ApiTokenView['state'] {
  if (record.revokedAt) return 'revoked';
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return 'valid';
}

function view(record: ApiTokenRecord, now: Date): ApiTokenView {
  const { secretHash: _hash, ...shown } = record;
  return { ...shown, state: state(record, now) };
}

/** `epu_<name>_<secret>` → its parts (a name has no `_`, so the first one after the prefix ends it). */
export function splitApiToken(token: string): { name: string; secret: string } | undefined {
  if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
  const rest = token.slice(API_TOKEN_PREFIX.length);
  const cut = rest.indexOf('_');
  if (cut <= 0) return undefined;
  return { name: rest.slice(0, cut), secret: rest.slice(cut + 1) };
}

/**
 * Named API tokens for people, each with a role. Every change is durable before it is answered
 * (see ApiTokenRepository). Presented tokens are checked against a copy held here: the
 * repository's where only this hub writes it; where hubs share it, read again every
 * API_TOKENS_REFRESH_MS and not trusted past API_TOKENS_STALE_MS.
 */
export class ApiTokens {
  private records = new Map<string, ApiTokenRecord>();
  private readAt: number;
  private refresher: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** Said once per outage. */
  private saidStale = false;
  /** This hub's own changes made while a read of every record is on its way: that read may predate them. */
  private madeDuringRead: Map<string, ApiTokenRecord> | undefined;

  private constructor(
    private readonly repository: ApiTokenRepository,
    private readonly now: () => Date,
    private readonly log: (message: string) => void,
  ) {
    this.readAt = now().getTime();
  }

  /** `where`: the file of a hub's own, or a shared store's repository. */
  static async open(where: string | ApiTokenRepository, now: () => Date, log: (message: string) => void = () => undefined): Promise<ApiTokens> {
    const repository = typeof where === 'string' ? await fileApiTokenRepository(where) : where;
    const tokens = new ApiTokens(repository, now, log);
    await tokens.refresh();
    if (repository.shared) {
      tokens.refresher = setInterval(() => void tokens.refresh().catch(() => undefined), API_TOKENS_REFRESH_MS);
      tokens.refresher.unref();
    }
    return tokens;
  }

  /** Stops reading the shared store again. */
  close(): void {
    if (this.refresher) clearInterval(this.refresher);
    this.refresher = undefined;
  }

  /** Reads every record again (at open, and periodically where the store is shared). */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const started = this.now().getTime();
    try {
      this.madeDuringRead = new Map();
      const all = await this.repository.list();
      this.records = new Map([...all.map((r): [string, ApiTokenRecord] => [r.name, r]), ...this.madeDuringRead]);
      this.readAt = started;
      if (this.saidStale) this.log('API tokens: the shared store answers again; people\'s tokens are accepted');
      this.saidStale = false;
    } catch (err) {
      if (!this.saidStale && this.records.size > 0 && this.stale()) {
        this.saidStale = true;
        this.log(`API tokens: the shared store did not answer (${errorMessage(err)}); people's tokens are refused until it does`);
      }
      throw err;
    } finally {
      this.madeDuringRead = undefined;
      this.refreshing = false;
    }
  }

  private stale(): boolean {
    return this.repository.shared && this.now().getTime() - this.readAt > API_TOKENS_STALE_MS;
  }

  list(): ApiTokenView[] {
    const now = this.now();
    return [...this.records.values()].map((r) => view(r, now)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A name is taken while its token is valid; a revoked or expired name may be issued again. */
  async create(request: ApiTokenCreate, createdBy: string): Promise<ApiTokenCreated> {
    if (request.name === 'admin') throw new ApiTokenError('reserved', 'the name admin is the bootstrap admin token\'s (the audit log names it so); choose another --name');
    const now = this.now();
    const secret = randomSecret(32);
    const record = await this.repository.change(request.name, (existing) => {
      if (existing && state(existing, now) === 'valid') {
        throw new ApiTokenError('exists', `a valid token named ${request.name} exists; revoke it first or choose another --name`);
      }
      return {
        name: request.name,
        role: request.role,
        description: request.description,
        secretHash: hashSecret(secret),
        createdAt: now.toISOString(),
        createdBy,
        ...(request.ttlSeconds !== undefined ? { expiresAt: new Date(now.getTime() + request.ttlSeconds * 1000).toISOString() } : {}),
      };
    });
    this.keep(record);
    return { ...view(record, now), token: `${API_TOKEN_PREFIX}${record.name}_${secret}` };
  }

  async revoke(name: string): Promise<ApiTokenView> {
    const now = this.now();
    const revoked = await this.repository.change(name, (existing) => {
      if (!existing) throw new ApiTokenError('unknown', `no API token named ${name}`);
      if (existing.revokedAt) throw new ApiTokenError('already-revoked', `API token ${name} was already revoked at ${existing.revokedAt}`);
      return { ...existing, revokedAt: now.toISOString() };
    });
    this.keep(revoked);
    return view(revoked, now);
  }

  private keep(record: ApiTokenRecord): void {
    this.records.set(record.name, record);
    this.madeDuringRead?.set(record.name, record);
  }

  /** The caller a presented token stands for, if it is one of ours and valid now. */
  identify(token: string): Caller | undefined {
    const parts = splitApiToken(token);
    const record = parts && this.records.get(parts.name);
    if (!parts || !record || !secretMatches(parts.secret, record.secretHash) || this.stale()) return undefined;
    return state(record, this.now()) === 'valid' ? { name: record.name, role: record.role } : undefined;
  }
}
