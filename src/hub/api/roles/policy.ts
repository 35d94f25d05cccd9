import { rolePermissions, type Permission, type Role } from '../../../protocol/index.js';

/**
 * The one access policy: which permission each API route needs. Keys are `METHOD route` as the
 * route is registered. `public` routes take no person's token (agents and supervisors call
 * them; the firmware downloads check device credentials themselves). A route missing here is
 * refused to everyone but admin, and test/integration/roles.test.ts fails naming it.
 */
export type RouteAccess = Permission | 'public';

export const routePolicy: Readonly<Record<string, RouteAccess>> = {
  'GET /healthz': 'public',
  'GET /v1/bootstrap': 'public',
  // The CA certificate: no secret, and whoever fetches it checks its fingerprint against the join token.
  'GET /v1/bootstrap/ca': 'public',
  'GET /v1/firmware/manifest': 'public',
  'GET /v1/firmware/download': 'public',
  'GET /v1/firmware/delta': 'public',
  // The dashboard's page and assets hold no data; what it shows comes from the API with a token.
  'GET /': 'public',
  'GET /ui': 'public',
  'GET /ui/': 'public',
  'GET /ui/assets/:file': 'public',

  'GET /v1/devices': 'read',
  'GET /v1/devices/:id': 'read',
  'GET /v1/devices/:id/release': 'read',
  'GET /v1/mcus': 'read',
  'GET /v1/hubs': 'read',
  'GET /v1/mcus/:gateway/:mcu/telemetry': 'read',
  'GET /v1/stats': 'read',
  'GET /v1/top/devices': 'read',
  'GET /v1/top/workloads': 'read',
  'GET /v1/workloads': 'read',
  'GET /v1/workloads/:name': 'read',
  'GET /v1/workloads/:name/logs': 'read',
  'GET /v1/jobs': 'read',
  'GET /v1/jobs/:name': 'read',
  'GET /v1/cronjobs': 'read',
  'GET /v1/cronjobs/:name': 'read',
  'GET /v1/releases': 'read',
  'GET /v1/releases/:ref': 'read',
  'GET /v1/rollouts': 'read',
  'GET /v1/rollouts/:name': 'read',
  'GET /v1/firmware': 'read',
  'GET /v1/firmware/keys': 'read',
  'GET /v1/configmaps': 'read',
  'GET /v1/configmaps/:name': 'read',
  // Keys and sizes only; values need ?showValues=true and the admin role (config-routes.ts).
  'GET /v1/secrets': 'read',
  'GET /v1/secrets/:name': 'read',
  'GET /v1/services': 'read',
  'GET /v1/services/:name': 'read',
  'GET /v1/whoami': 'read',
  'GET /v1/changes': 'read',
  'GET /metrics': 'read',

  'POST /v1/apply': 'operate',
  'DELETE /v1/workloads/:name': 'operate',
  'DELETE /v1/services/:name': 'operate',
  'DELETE /v1/configmaps/:name': 'operate',
  'DELETE /v1/secrets/:name': 'operate',
  'POST /v1/workloads/:name/restart': 'operate',
  'DELETE /v1/jobs/:name': 'operate',
  'POST /v1/jobs/from-cronjob': 'operate',
  'POST /v1/cronjobs/:name/suspend': 'operate',
  'DELETE /v1/cronjobs/:name': 'operate',
  'POST /v1/rollouts/:name/commands': 'operate',
  'POST /v1/mcus/:gateway/:mcu/flash': 'operate',
  'POST /v1/firmware': 'operate',
  'POST /v1/devices/:id/cordon': 'operate',
  'POST /v1/devices/:id/uncordon': 'operate',
  'POST /v1/devices/:id/drain': 'operate',
  'PATCH /v1/devices/:id/labels': 'operate',

  // Who may join, who holds a token, which keys sign firmware, and the record of all of it.
  'DELETE /v1/devices/:id': 'admin',
  'POST /v1/devices/:id/approve': 'admin',
  'POST /v1/devices/:id/deny': 'admin',
  'GET /v1/tokens': 'admin',
  'POST /v1/tokens': 'admin',
  'DELETE /v1/tokens/:id': 'admin',
  'GET /v1/api-tokens': 'admin',
  'POST /v1/api-tokens': 'admin',
  'DELETE /v1/api-tokens/:name': 'admin',
  'POST /v1/firmware/keys': 'admin',
  'DELETE /v1/firmware/keys/:keyId': 'admin',
  'GET /v1/audit': 'admin',
};

/** The access a route needs; HEAD is answered by the GET route. Undefined: not in the table. */
export function routeAccess(method: string, route: string): RouteAccess | undefined {
  const verb = method === 'HEAD' ? 'GET' : method;
  return routePolicy[`${verb} ${route}`];
}

export type AccessDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * May `role` call this route? Admin may call anything (also a route the table misses, so a
 * new route is never locked away from the fleet's owner); everyone else needs the permission.
 */
export function decideAccess(role: Role, method: string, route: string): AccessDecision {
  const access = routeAccess(method, route);
  if (access === 'public' || role === 'admin') return { allowed: true };
  if (access === undefined) return { allowed: false, reason: `${method} ${route} has no entry in the access policy; only admin may call it` };
  if (rolePermissions[role].includes(access)) return { allowed: true };
  return { allowed: false, reason: `role ${role} may not ${describe(access)} (${method} ${route} needs the ${access} permission, held by ${holders(access)})` };
}

function describe(permission: Permission): string {
  switch (permission) {
    case 'read':
      return 'read the fleet';
    case 'operate':
      return 'change workloads, jobs, rollouts, firmware or scheduling';
    case 'admin':
      return 'manage tokens, keys, device identities or read the audit log';
  }
}

function holders(permission: Permission): string {
  return (Object.keys(rolePermissions) as Role[]).filter((r) => rolePermissions[r].includes(permission)).join(', ');
}
