// Semantic versions for firmware manifests: the protocol's definition (one copy for hub,
// agent, CLI and releases).
export { compareSemver, isSemver, parseSemver, type SemVer } from '../../protocol/index.js';
