import { z } from 'zod';
import { readFileIfExists, writeFileDurably } from '../../../common/durable-file.js';
import { hashSecret, randomSecret, secretMatches } from '../../../common/ids.js';
import { API_TOKEN_PREFIX, isoTimeSchema, nameSchema, roleSchema, type ApiTokenCreate, type ApiTokenCreated, type ApiTokenView, type Role } from '../../../protocol/index.js';

/** A stored person's token: only the hash of its secret is kept. */
const recordSchema = z.object({
  name: nameSchema,
  role: roleSchema,
  description: z.string(),
  secretHash: z.string().regex(/^[a-f0-9]{64}$/),
  createdAt: isoTimeSchema,
  createdBy: z.string(),
  expiresAt: isoTimeSchema.optional(),
  revokedAt: isoTimeSchema.optional(),
});
type ApiTokenRecord = z.infer<typeof recordSchema>;
const fileSchema = z.object({ tokens: z.array(recordSchema) });

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
 * Named API tokens for people, each with a role. Kept in one small file written durably on each
 * change (creations and revocations are rare and must survive a crash once acknowledged).
 */
export class ApiTokens {
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly records: Map<string, ApiTokenRecord>,
    private readonly now: () => Date,
  ) {}

  static async open(path: string, now: () => Date): Promise<ApiTokens> {
    const text = await readFileIfExists(path);
    const records = new Map<string, ApiTokenRecord>();
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = fileSchema.safeParse(json);
      if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.message ?? 'invalid'}); fix or delete it (every person's token is then lost)`);
      for (const record of parsed.data.tokens) records.set(record.name, record);
    }
    return new ApiTokens(path, records, now);
  }

  list(): ApiTokenView[] {
    const now = this.now();
    return [...this.records.values()].map((r) => view(r, now)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A name is taken while its token is valid; a revoked or expired name may be issued again. */
  create(request: ApiTokenCreate, createdBy: string): Promise<ApiTokenCreated> {
    return this.serially(() => this.createNow(request, createdBy));
  }

  revoke(name: string): Promise<ApiTokenView> {
    return this.serially(() => this.revokeNow(name));
  }

  private async createNow(request: ApiTokenCreate, createdBy: string): Promise<ApiTokenCreated> {
    if (request.name === 'admin') throw new ApiTokenError('reserved', 'the name admin is the bootstrap admin token\'s (the audit log names it so); choose another --name');
    const now = this.now();
    const existing = this.records.get(request.name);
    if (existing && state(existing, now) === 'valid') {
      throw new ApiTokenError('exists', `a valid token named ${request.name} exists; revoke it first or choose another --name`);
    }
    const secret = randomSecret(32);
    const record: ApiTokenRecord = {
      name: request.name,
      role: request.role,
      description: request.description,
      secretHash: hashSecret(secret),
      createdAt: now.toISOString(),
      createdBy,
      ...(request.ttlSeconds !== undefined ? { expiresAt: new Date(now.getTime() + request.ttlSeconds * 1000).toISOString() } : {}),
    };
    await this.save(new Map(this.records).set(record.name, record));
    return { ...view(record, now), token: `${API_TOKEN_PREFIX}${record.name}_${secret}` };
  }

  private async revokeNow(name: string): Promise<ApiTokenView> {
    const existing = this.records.get(name);
    if (!existing) throw new ApiTokenError('unknown', `no API token named ${name}`);
    if (existing.revokedAt) throw new ApiTokenError('already-revoked', `API token ${name} was already revoked at ${existing.revokedAt}`);
    const now = this.now();
    const revoked = { ...existing, revokedAt: now.toISOString() };
    await this.save(new Map(this.records).set(name, revoked));
    return view(revoked, now);
  }

  /** The caller a presented token stands for, if it is one of ours and valid now. */
  identify(token: string): Caller | undefined {
    const parts = splitApiToken(token);
    const record = parts && this.records.get(parts.name);
    if (!parts || !record || !secretMatches(parts.secret, record.secretHash)) return undefined;
    return state(record, this.now()) === 'valid' ? { name: record.name, role: record.role } : undefined;
  }

  /** Changes one at a time, each starting from the last one's result. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.queue.then(change);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Writes the new set durably, then makes it the one in use: a failed write changes nothing. */
  private async save(next: Map<string, ApiTokenRecord>): Promise<void> {
    await writeFileDurably(this.path, `${JSON.stringify({ tokens: [...next.values()] }, null, 2)}\n`);
    this.records.clear();
    for (const [name, record] of next) this.records.set(name, record);
  }
}
