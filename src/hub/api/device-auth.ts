/**
 * Who may fetch firmware: a device with its own credentials (HTTP basic auth,
 * `deviceId:password`, checked against the stored hash like its MQTT login) or the admin.
 * Routes that use this are listed as public to the admin-token hook and call it themselves.
 */
import { secretMatches } from '../../common/ids.js';
import type { DeviceRepository } from '../store/repository.js';
import { bearerTokenMatches } from './auth.js';
import { HttpError } from './http-error.js';

export type Caller = { readonly kind: 'admin' } | { readonly kind: 'device'; readonly deviceId: string };

/**
 * @param personMayRead a person's API token whose role may read the fleet (issue 13): firmware
 *   is part of what a viewer may look at.
 */
export async function deviceOrAdmin(
  header: string | undefined,
  adminTokenHash: string,
  devices: DeviceRepository,
  personMayRead?: (header: string | undefined) => boolean,
): Promise<Caller> {
  if (bearerTokenMatches(header, adminTokenHash) || personMayRead?.(header) === true) return { kind: 'admin' };
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const deviceId = decoded.slice(0, colon);
      const device = await devices.get(deviceId);
      if (device && secretMatches(decoded.slice(colon + 1), device.credentialHash)) return { kind: 'device', deviceId };
    }
  }
  throw new HttpError(401, 'Unauthorized', 'firmware downloads need device credentials (basic auth) or an API token');
}
