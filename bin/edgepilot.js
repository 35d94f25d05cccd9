#!/usr/bin/env node
// The one executable. `npm ci` compiles the sources (the prepare script). The agent runs from
// its own bundle, which loads a fraction of the modules (see scripts/bundle-agent.mjs).
import { existsSync } from 'node:fs';

const agentBundle = new URL('../dist/agent/agent.mjs', import.meta.url);
if (process.argv[2] === 'agent' && existsSync(agentBundle)) await import(agentBundle.href);
else await import('../dist/src/main.js');
