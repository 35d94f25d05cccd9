// What a hub says about its PostgreSQL URL, without loading the PostgreSQL client: a hub on the
// embedded store never imports `pg` (its start-up is on the path of a restart storm).

/** Where a PostgreSQL URL points, for messages (never its password). */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'an unparsable URL';
  }
}
