import { hashSecret, randomAlnum, randomSecret, secretMatches } from '../../common/ids.js';
import { joinTokenWithCa, type TokenCreate, type TokenCreated, type TokenView } from '../../protocol/index.js';
import { tokenState, type TokenRecord } from '../store/records.js';
import type { TokenRepository } from '../store/repository.js';

export function splitJoinToken(token: string): { id: string; secret: string } | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

export function tokenView(token: TokenRecord, now: Date): TokenView {
  return {
    id: token.id,
    description: token.description,
    labels: token.labels,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    ...(token.maxUses !== undefined ? { maxUses: token.maxUses } : {}),
    uses: token.uses,
    revoked: token.revoked,
    state: tokenState(token, now),
  };
}

/** What else learns of a token: an external broker's accounts (dynamic security), if any. */
export interface JoinTokenHooks {
  /** Called before the token is handed out, with the token the agent will present. */
  created(id: string, token: string): Promise<void>;
  revoked(id: string): Promise<void>;
}

/** Join tokens: created and revoked by operators, consumed by joining devices. */
export class JoinTokens {
  /** Set by the composition root when the broker keeps its own accounts. */
  hooks: JoinTokenHooks | undefined;

  constructor(
    private readonly repository: TokenRepository,
    private readonly now: () => Date,
    /** The hub CA's fingerprint, appended to every token handed out so agents can pin the CA (none with --insecure). */
    private readonly caFingerprint?: string,
  ) {}

  async create(request: TokenCreate): Promise<TokenCreated> {
    const now = this.now();
    const id = randomAlnum(6);
    const secret = randomSecret(24);
    const record: TokenRecord = {
      id,
      secretHash: hashSecret(secret),
      description: request.description,
      labels: request.labels,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + request.ttlSeconds * 1000).toISOString(),
      ...(request.maxUses !== undefined ? { maxUses: request.maxUses } : {}),
      uses: 0,
      revoked: false,
    };
    const token = `${id}.${secret}`;
    // The broker learns the token first: a token handed out must already open a join session.
    await this.hooks?.created(id, token);
    await this.repository.put(record);
    return { ...tokenView(record, now), token: this.caFingerprint ? joinTokenWithCa(token, this.caFingerprint) : token };
  }

  async list(): Promise<TokenView[]> {
    const now = this.now();
    return (await this.repository.list()).map((t) => tokenView(t, now)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(id: string): Promise<TokenView | undefined> {
    const updated = await this.repository.update(id, (t) => {
      t.revoked = true;
    });
    if (updated) await this.hooks?.revoked(id);
    return updated && tokenView(updated, this.now());
  }

  /** True when the token was issued here (whatever its state); used by the broker to admit join sessions. */
  async known(token: string): Promise<boolean> {
    const parts = splitJoinToken(token);
    if (!parts) return false;
    const record = await this.repository.get(parts.id);
    return record !== undefined && secretMatches(parts.secret, record.secretHash);
  }

  /**
   * Whether the token could be used now, without taking a use (a held or refused join costs none).
   * A refusal of a token this hub knows (its secret matched) carries its record.
   */
  async check(token: string): Promise<{ ok: true; record: TokenRecord } | { ok: false; reason: ConsumeRefusal; message: string; record?: TokenRecord }> {
    const parts = splitJoinToken(token);
    const known = parts && (await this.repository.get(parts.id));
    if (!parts || !known || !secretMatches(parts.secret, known.secretHash)) {
      return { ok: false, reason: 'unknown-token', message: 'join token is not known to this hub' };
    }
    const state = tokenState(known, this.now());
    return state === 'valid' ? { ok: true, record: known } : { ok: false, ...refusalFor(known, state), record: known };
  }

  /**
   * Takes one use of the token if it is valid. The check and the increment happen in one
   * synchronous store mutation, so concurrent joins cannot both take the last use.
   */
  async consume(token: string): Promise<{ ok: true; record: TokenRecord; giveBack: () => Promise<void> } | { ok: false; reason: ConsumeRefusal; message: string }> {
    const parts = splitJoinToken(token);
    const known = parts && (await this.repository.get(parts.id));
    if (!parts || !known || !secretMatches(parts.secret, known.secretHash)) {
      return { ok: false, reason: 'unknown-token', message: 'join token is not known to this hub' };
    }
    const now = this.now();
    let refusal: { reason: ConsumeRefusal; message: string } | undefined;
    // Whether the change took a use when last applied: a shared store applies it again to the
    // row as it is when written, where another hub may have taken the last use meanwhile.
    let took = false;
    // Lazy: the use is written with the device the join creates (one durable write per join);
    // a crash before that write loses both, and the device was never told it joined.
    const updated = await this.repository.update(
      parts.id,
      (t) => {
        // Applied again when a shared store writes it (or retries its transaction): the last application decides.
        refusal = undefined;
        const state = tokenState(t, now);
        took = state === 'valid';
        if (state === 'valid') {
          t.uses += 1;
          return;
        }
        refusal = refusalFor(t, state);
      },
      'lazy',
    );
    if (!updated) return { ok: false, reason: 'unknown-token', message: 'join token is not known to this hub' };
    if (refusal) return { ok: false, ...refusal };
    // For a join that stored nothing (another hub registered the board first). Lazy like the use,
    // applied after it: the two reach the store together and cancel out, and nothing is given
    // back that the use did not take.
    const giveBack = async (): Promise<void> => void (await this.repository.update(parts.id, (t) => void (took && (t.uses -= 1)), 'lazy'));
    return { ok: true, record: updated, giveBack };
  }
}

export type ConsumeRefusal = 'unknown-token' | 'expired-token' | 'exhausted-token' | 'revoked-token';

function refusalFor(token: TokenRecord, state: Exclude<ReturnType<typeof tokenState>, 'valid'>): { reason: ConsumeRefusal; message: string } {
  switch (state) {
    case 'expired':
      return { reason: 'expired-token', message: `join token ${token.id} expired at ${token.expiresAt}; create a new one with 'edgepilot token create'` };
    case 'exhausted':
      return { reason: 'exhausted-token', message: `join token ${token.id} has been used ${token.uses} of ${token.maxUses ?? 0} times` };
    case 'revoked':
      return { reason: 'revoked-token', message: `join token ${token.id} was revoked` };
  }
}
