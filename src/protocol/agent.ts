// The part of the contract the device agent's bundle loads (scripts/bundle-agent.mjs resolves the
// agent's imports of index.ts here): the same modules and schema objects as index.ts, without
// those only the hub and the CLI use (API views, rollouts, CLI config). Every zod schema costs
// heap when its module is evaluated, and an agent never parses those. An agent import of a name
// missing here fails the bundle build, naming it.
export * from './topics.js';
export * from './limits.js';
export * from './decode.js';
export * from './schemas/common.js';
export * from './schemas/hubs.js';
export * from './schemas/quantity.js';
export * from './schemas/placement.js';
export * from './schemas/template.js';
export * from './schemas/facts.js';
export * from './schemas/join.js';
export * from './schemas/status.js';
export * from './schemas/events.js';
export * from './schemas/desired.js';
export * from './schemas/reported.js';
export * from './schemas/metrics.js';
export * from './schemas/rpc.js';
export * from './schemas/api.js';
export * from './schemas/firmware.js';
export * from './schemas/mcu.js';
export * from './schedule/index.js';
export * from './join-proof.js';
export * from './join-token.js';
export * from './access.js';
export * from './semver.js';
export * from './canonical-json.js';
export * from './schemas/job.js';
export * from './schemas/cronjob.js';
export * from './schemas/service.js';
export * from './schemas/config-object.js';
export * from './sealed-box.js';
