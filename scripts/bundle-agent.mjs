// Bundles the device agent. Fewer, smaller modules cost far less memory at start (measured:
// mqtt alone +21 MB as node_modules, +7 MB bundled; dockerode +28 MB, +12 MB bundled with ssh2
// stubbed), which matters on a 1 GB board. Code splitting keeps what only some devices use
// (dockerode and the Docker runtime) in chunks that are read only when imported; serialport's
// native binding stays external and is loaded from node_modules by gateways alone.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Chunk names carry content hashes: start empty so old chunks do not pile up.
rmSync('dist/agent', { recursive: true, force: true });

const ssh2Stub = fileURLToPath(new URL('./stubs/ssh2.cjs', import.meta.url));
const zodLocalesStub = fileURLToPath(new URL('./stubs/zod-locales.mjs', import.meta.url));

await build({
  entryPoints: {
    agent: 'src/agent-main.ts',
    // systeminformation runs in a short-lived child process, not in the agent (host-probe.ts).
    'facts-probe': 'src/device-agent/facts/probe-main.ts',
  },
  outdir: 'dist/agent',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  external: ['serialport', '@serialport/*'],
  plugins: [
    { name: 'stub-ssh2', setup: (b) => b.onResolve({ filter: /^(ssh2|cpu-features)$/ }, () => ({ path: ssh2Stub })) },
    {
      // The agent's code imports the protocol's index; the bundle takes the agent's subset of it
      // (src/protocol/agent.ts): the same modules, minus the hub's and the CLI's schemas.
      name: 'agent-protocol-subset',
      setup: (b) =>
        b.onResolve({ filter: /(^|\/)protocol\/index\.js$/ }, (args) =>
          args.importer.includes(`${'src'}/protocol/`) ? undefined : { path: fileURLToPath(new URL('../src/protocol/agent.ts', import.meta.url)) },
        ),
    },
    {
      name: 'zod-english-only',
      setup: (b) => b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (args.importer.includes(`${'node_modules'}/zod/`) ? { path: zodLocalesStub } : undefined)),
    },
  ],
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __epCreateRequire } from 'node:module'; const require = __epCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
