// Node/V8 options the agent is meant to run with: on the command line (V8 sizes its heap when the
// process starts, so the agent cannot set them on itself), given by `edgepilot up` to its local
// agent, by scripts/edgepilot-agent.service, and by the benchmarks.
//
// --max-semi-space-size=1: the young generation's two semi-spaces are 1 MB instead of up to 8 MB
// each (16 MB on 64-bit). An agent allocates little and keeps less: measured ~5–6 MB less RSS idle
// (bench/RESULTS.md), for scavenges that run more often but each on a smaller space.
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Whether this process was started with the agent's Node options (command line or NODE_OPTIONS). */
export function hasAgentNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env['NODE_OPTIONS'] ?? ''): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  return AGENT_NODE_FLAGS.every((flag) => given.some((g) => g.replaceAll('_', '-').startsWith(flag.split('=')[0] ?? flag)));
}
