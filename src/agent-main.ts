// Entry of the bundled agent (dist/agent/agent.mjs): only the agent command, so a device loads the
// agent's code and nothing of the hub or the technician CLI.
import { Command, CommanderError } from 'commander';
import { config as zodConfig } from 'zod';
import { agentCommand } from './device-agent/agent-command.js';
import { AGENT_AND_HUB_VERSION } from './common/version.js';
import { installIcuFreeToISOString } from './device-agent/iso-dates.js';
import { errorMessage, errorStack } from './common/errors.js';

// Before anything writes a timestamp: the native toISOString loads ICU's zone names (iso-dates.ts).
installIcuFreeToISOString();
// zod compiles a parser per object schema with `new Function` on first use; the agent parses a few
// messages a minute, and those compiled parsers and their source text were ~0.2 MB of heap.
zodConfig({ jitless: true });

const program = new Command('edgepilot').version(AGENT_AND_HUB_VERSION).option('--hub <url>', 'hub API URL').exitOverride();
const agent = agentCommand().exitOverride();
program.addCommand(agent);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    if (process.env['EDGEPILOT_DEBUG']) process.stderr.write(`${errorStack(err)}\n`);
    process.exitCode = 1;
  }
}
