// Runs an `edgepilot` program and turns its failure into one line and an exit status, the same
// for every entry (main.ts: every command; hub-main.ts: the hub alone).
import { CommanderError, type Command } from 'commander';
import { CliError } from './cli/errors.js';
import { errorMessage, errorStack } from './common/errors.js';

export async function runProgram(program: Command): Promise<void> {
  const overrideExits = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExits);
  };
  overrideExits(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help or its own one-line error.
      process.exitCode = err.exitCode;
    } else if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      if (process.env['EDGEPILOT_DEBUG']) process.stderr.write(`${errorStack(err)}\n`);
      process.exitCode = 1;
    }
    // A daemon whose start failed half-way (the API port taken after the broker came up) holds
    // sockets and timers that would keep this process alive without its service; a supervisor must
    // see it exit. A technician's command has nothing left to do after its error either.
    if (!(err instanceof CommanderError)) process.exit();
  }
}
