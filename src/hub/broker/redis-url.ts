// Checks `--redis` without loading the Redis client: a hub without Redis never imports ioredis,
// aedes-persistence-redis or mqemitter-redis (its start-up is on the path of a restart storm).

/** Checks the URL the operator gave (`--redis`), naming the flag in the error. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis ${url}: not a URL (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`--redis ${url}: expected a redis:// or rediss:// URL`);
  return parsed;
}
