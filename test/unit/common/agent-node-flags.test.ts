import test from 'ava';
import { AGENT_NODE_FLAGS, hasAgentNodeFlags } from '../../../src/common/agent-node-flags.js';

test('the agent flags are seen on the command line or in NODE_OPTIONS, in either spelling, with any value', (t) => {
  t.true(hasAgentNodeFlags([...AGENT_NODE_FLAGS], ''));
  t.true(hasAgentNodeFlags(['--max-semi-space-size=2'], ''));
  t.true(hasAgentNodeFlags([], '--max_semi_space_size=1 --enable-source-maps'));
  t.false(hasAgentNodeFlags([], ''));
  t.false(hasAgentNodeFlags(['--max-old-space-size=64'], '--enable-source-maps'));
});
