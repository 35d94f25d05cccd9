#!/usr/bin/env node
// The one executable. `npm ci` compiles the sources (the prepare script). The agent runs from
// its own bundle, which loads a fraction of the modules (see scripts/bundle-agent.mjs).
import { existsSync } from 'node:fs';

// `edgepilot get devices | head -1`: the reader has what it wanted and closed the pipe. Stop
// quietly with status 0 rather than a stack trace. Not 141 (what a process killed by SIGPIPE
// shows): whether a write meets the closed pipe at all is a race (output that fits the pipe
// buffer before the reader exits never does), so 0 keeps `set -o pipefail` scripts deterministic,
// the same as for short output. Daemons (hub, agent, up) keep Node's default: a supervisor
// should see them fail when their log pipe goes away.
const daemons = new Set(['agent', 'hub', 'up']);
if (!daemons.has(process.argv[2] ?? '')) {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

const agentBundle = new URL('../dist/agent/agent.mjs', import.meta.url);
if (process.argv[2] === 'agent' && existsSync(agentBundle)) await import(agentBundle.href);
// The hub alone loads none of the technician's commands: its start-up is on a restart storm's path.
else if (process.argv[2] === 'hub') await import('../dist/src/hub-main.js');
else await import('../dist/src/main.js');
