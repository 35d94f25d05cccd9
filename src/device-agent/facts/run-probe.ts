import { execFile } from 'node:child_process';
import { factsSchema } from '../../protocol/index.js';
import type { HostFacts } from './host-probe.js';

const hostFactsSchema = factsSchema.pick({ hostname: true, os: true, board: true, cpu: true, memory: true, disk: true, temperatureC: true });

/** Runs the host probe script in a child process and validates what it prints. */
export function runHostProbe(probeScript: string, timeoutMs = 30_000): Promise<HostFacts> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--max-old-space-size=64', probeScript], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`facts probe failed: ${stderr.trim() || err.message}`));
      let raw: unknown;
      try {
        raw = JSON.parse(stdout);
      } catch {
        return reject(new Error('facts probe printed something that is not JSON'));
      }
      const parsed = hostFactsSchema.safeParse(raw);
      if (!parsed.success) return reject(new Error(`facts probe: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`));
      resolve(parsed.data);
    });
  });
}
