import { request } from 'node:http';

/**
 * Is a Docker engine reachable, and which version? A plain HTTP request on the socket, so
 * the agent does not load dockerode (+24 MB) on boards without Docker.
 */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env['DOCKER_HOST'];
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

export function probeDocker(socketPath: string, timeoutMs = 2000): Promise<{ available: boolean; version?: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/version', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const version = (JSON.parse(body) as { Version?: unknown }).Version;
          resolve(typeof version === 'string' ? { available: true, version } : { available: true });
        } catch {
          resolve({ available: false });
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ available: false }));
    req.end();
  });
}
