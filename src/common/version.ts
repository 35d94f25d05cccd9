/** The release of this build; agents report it in their status, the hub in /v1/bootstrap. */
export const AGENT_AND_HUB_VERSION = '0.1.0';
