// The hub's TLS material, built for main.ts (moved out of it so main.ts stays under 400 lines).
import { readFile } from 'node:fs/promises';
import type { HubConfig } from '../config.js';
import { defaultServerNames, loadOrCreateHubTls, type HubTls } from '../tls/tls-material.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

/** Given certificates (--tls-*) are read here; otherwise the hub's own CA signs a certificate for its names. */
export async function hubTls(config: HubConfig, now: Date): Promise<HubTls> {
  const names = defaultServerNames([...(config.tlsNames ?? []), ...[config.apiHost, config.mqttHost].filter((h) => h !== '0.0.0.0' && h !== '::')]);
  if (!config.tlsFiles) return loadOrCreateHubTls(config.dataDir, { names, now });
  const read = async (path: string, flag: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`${flag} ${path}: ${errnoCode(err) ?? errorMessage(err)}`);
    }
  };
  const given = { cert: await read(config.tlsFiles.cert, '--tls-cert'), key: await read(config.tlsFiles.key, '--tls-key'), ca: await read(config.tlsFiles.ca, '--tls-ca') };
  return loadOrCreateHubTls(config.dataDir, { names, now, given });
}
