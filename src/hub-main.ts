// `edgepilot hub ...`, chosen by bin/edgepilot.js: the hub alone, without the technician's
// commands. A restarted hub's modules load before its broker listens, and every second of that
// is a second the fleet's reconnections wait (the restart storm, issue 11).
import { Command } from 'commander';
import { hubCommand } from './hub/hub-command.js';
import { runProgram } from './run-program.js';

await runProgram(new Command('edgepilot').addCommand(hubCommand()));
