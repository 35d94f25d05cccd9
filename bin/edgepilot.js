#!/usr/bin/env node
// The one executable. The TypeScript sources are compiled by `npm ci` (the prepare script).
import '../dist/src/main.js';
