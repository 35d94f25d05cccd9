import test from 'ava';
import { readFile } from 'node:fs/promises';
import { AGENT_NODE_FLAGS, hasAgentNodeFlags } from '../../../src/common/agent-node-flags.js';

test('the agent flags are seen on the command line or in NODE_OPTIONS, in either spelling, with any value', (t) => {
  t.true(hasAgentNodeFlags([...AGENT_NODE_FLAGS], ''));
  t.true(hasAgentNodeFlags(['--max-semi-space-size=2', '--optimize-for-size', '--no-opt', '--single-threaded', '--no-short-builtin-calls', '--no-sparkplug', '--bytecode-old-age=1'], ''));
  t.true(hasAgentNodeFlags([], '--max_semi_space_size=1 --optimize_for_size --no-opt --single_threaded --no_short_builtin_calls --no_sparkplug --bytecode_old_age=0 --enable-source-maps'));
  t.true(hasAgentNodeFlags(['--no-opt', '--single-threaded'], '--max-semi-space-size=1 --optimize-for-size --no-short-builtin-calls --no-sparkplug --bytecode-old-age=0'));
  t.false(hasAgentNodeFlags(['--max-semi-space-size=1', '--optimize-for-size', '--no-opt', '--single-threaded', '--no-short-builtin-calls', '--no-sparkplug'], ''), 'the bytecode age flag is part of the set');
  t.false(hasAgentNodeFlags(['--max-semi-space-size=1', '--optimize-for-size', '--no-opt', '--single-threaded', '--no-sparkplug'], ''), 'the builtins flag is part of the set');
  t.false(hasAgentNodeFlags([], ''));
  t.false(hasAgentNodeFlags(['--max-old-space-size=64'], '--enable-source-maps'));
  // One missing is not the set; a longer flag that merely starts with a name is another flag.
  t.false(hasAgentNodeFlags(['--max-semi-space-size=1', '--optimize-for-size', '--no-opt'], ''));
  t.false(hasAgentNodeFlags(['--max-semi-space-size=1', '--optimize-for-size', '--no-optimize-maglev', '--single-threaded'], ''));
});

test("the systemd unit starts the agent with exactly the agent's flags (one list, not two to keep in step)", async (t) => {
  const unit = await readFile(new URL('../../../../scripts/edgepilot-agent.service', import.meta.url), 'utf8');
  const execStart = /^ExecStart=(\S+) (.*)$/m.exec(unit);
  t.truthy(execStart, 'the unit has an ExecStart line');
  const words = (execStart?.[2] ?? '').split(/\s+/);
  const flags = words.slice(0, words.findIndex((w) => !w.startsWith('--')));
  t.deepEqual(flags, [...AGENT_NODE_FLAGS]);
});
