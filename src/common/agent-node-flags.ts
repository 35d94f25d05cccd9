// Node/V8 options the agent is meant to run with: on the command line (V8 sizes its heap and picks
// its compilers when the process starts, so the agent cannot set them on itself), given by
// `edgepilot up` to its local agent, by scripts/edgepilot-agent.service (a unit test keeps its
// ExecStart line equal to this list), and by the benchmarks. What each bought is measured in
// bench/RESULTS.md ("agent memory"; `npm run bench -- agent-memory` shows where the RSS is).
//
// --max-semi-space-size=1: the young generation's two semi-spaces are 1 MB instead of up to 8 MB
//   each. An agent allocates little and keeps less: ~5–6 MB less RSS idle, for scavenges that
//   run more often but each on a smaller space.
// --optimize-for-size: V8's heap heuristics favour footprint over speed (smaller growth steps,
//   more eager bytecode flushing): ~3 MB less V8 heap on an idle agent.
// --no-opt: no TurboFan. An agent's JavaScript is glue around I/O (MQTT packets, JSON, a few
//   zod parses per message); the interpreter and the Sparkplug baseline compiler are fast enough
//   for it, and optimising compiles touch ~3 MB more of the node binary's machine code (plus
//   their code objects). fetch/WebAssembly are unaffected (unlike --jitless or --lite-mode).
// --no-sparkplug: no baseline compiler either; the agent's JavaScript runs in the interpreter. With
//   --no-opt, Sparkplug's machine code was the only compiled code: ~0.5 MB of code space; the agent's
//   CPU for 50 process starts stayed the same (0.44 vs 0.45 s, bench/RESULTS.md).
// --single-threaded: V8 does its GC and compiling on the main thread instead of in helper
//   threads (Node's own libuv pool is unaffected). On a ~10 MB heap the pauses stay short, and
//   the helpers' stacks and buffers go: ~2–3 MB less anonymous memory.
// --no-short-builtin-calls: on a machine with 4 GB of memory or more, V8 maps its builtins' machine
//   code a second time, next to the heap, for shorter calls from compiled code; the pages are the
//   binary's own, but resident twice: ~1 MB of RSS. Boards under 4 GB never do it, so this makes a
//   larger machine (CI, the bench, a gateway PC) measure and behave as a board does.
// --bytecode-old-age=0: a function's bytecode is dropped at the next full GC once it is not running
//   (V8's default waits five full GCs). Most of an agent's code runs once, at start (argument parsing,
//   joining, building schemas); an idle agent has too few full GCs to ever reach five, so that
//   bytecode stayed: −0.6 MB of V8 heap idle. Code that runs again is compiled again, from the
//   source V8 keeps anyway; the agent's CPU for 50 process starts stayed the same (bench/RESULTS.md).
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size', '--no-opt', '--single-threaded', '--no-short-builtin-calls', '--no-sparkplug', '--bytecode-old-age=0'];

/** Whether this process was started with the agent's Node options (command line or NODE_OPTIONS). */
export function hasAgentNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env['NODE_OPTIONS'] ?? ''): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((g) => g.replaceAll('_', '-'));
  return AGENT_NODE_FLAGS.every((flag) => {
    const name = flag.split('=')[0] ?? flag;
    return given.some((g) => g === name || g.startsWith(`${name}=`));
  });
}
