import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** Tests run from dist/test/…; the repository root is three levels up from this compiled file. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const edgepilotBin = join(repoRoot, 'bin', 'edgepilot.js');

export async function makeTempDir(prefix = 'ep-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
