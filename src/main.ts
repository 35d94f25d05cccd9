// The `edgepilot` executable: daemons (hub, agent, up) and the technician's commands.
// Daemon modules are imported only when their command runs, so `edgepilot agent` never
// loads the hub's broker or HTTP server, and `edgepilot get` loads neither.
import { Command } from 'commander';
import { agentCommand } from './device-agent/agent-command.js';
import { hubCommand } from './hub/hub-command.js';
import { technicianCommands } from './cli/program.js';
import { upCommand } from './up-command.js';
import { AGENT_AND_HUB_VERSION } from './common/version.js';
import { runProgram } from './run-program.js';

const program = new Command('edgepilot')
  .description("Kubernetes' ideas at the edge: a hub, device agents over MQTT, and this CLI")
  .option('--hub <url>', 'hub API URL (env EDGEPILOT_HUB, config file)')
  .option('--token <token>', 'admin token (env EDGEPILOT_TOKEN, config file)')
  .option('--config <file>', 'CLI config (default: ~/.config/edgepilot/config.yaml, env EDGEPILOT_CONFIG)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Print the version with: edgepilot --version

Examples:
  edgepilot up                         # hub + embedded broker + local agent
  edgepilot token create --ttl 2h      # a join token for new boards
  edgepilot agent --hub https://hub:7080 --join-token <token>
  edgepilot get devices -o wide`,
  );

// `--version` only as the first word: subcommands have a --version of their own (firmware push).
if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`${AGENT_AND_HUB_VERSION}\n`);
  process.exit(0);
}

program.addCommand(upCommand()).addCommand(hubCommand()).addCommand(agentCommand());
for (const command of technicianCommands()) program.addCommand(command);
await runProgram(program);
