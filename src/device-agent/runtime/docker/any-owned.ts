import { request } from 'node:http';
import { ownedLabelFilter } from './naming.js';

/**
 * Does the engine hold any container this device's agent owns? One plain HTTP request on the
 * socket (node:http is loaded anyway), so the answer costs no dockerode. Anything but a clear
 * "none" (an error, a refusal, a body that does not parse) answers yes: the caller then loads the
 * real runtime, which reports the failure the way it always has.
 */
export function anyOwnedContainer(socketPath: string, deviceId: string, timeoutMs = 10_000): Promise<boolean> {
  const filters = encodeURIComponent(JSON.stringify({ label: ownedLabelFilter(deviceId) }));
  return new Promise((resolve) => {
    const req = request({ socketPath, path: `/containers/json?all=1&limit=1&filters=${filters}`, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const list: unknown = JSON.parse(body);
          resolve(res.statusCode !== 200 || !Array.isArray(list) || list.length > 0);
        } catch {
          resolve(true);
        }
      });
      res.on('error', () => resolve(true));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(true));
    req.end();
  });
}
