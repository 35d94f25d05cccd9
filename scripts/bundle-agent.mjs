// Bundles the device agent. Fewer, smaller modules cost far less memory at start (measured:
// mqtt alone +21 MB as node_modules, +7 MB bundled; dockerode +28 MB, +12 MB bundled with ssh2
// stubbed), which matters on a 1 GB board. Code splitting keeps what only some devices use
// (dockerode and the Docker runtime) in chunks that are read only when imported; serialport's
// native binding stays external and is loaded from node_modules by gateways alone.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markTopLevelCallsPure } from './protocol-pure.mjs';

// Chunk names carry content hashes: start empty so old chunks do not pile up.
rmSync('dist/agent', { recursive: true, force: true });

const ssh2Stub = fileURLToPath(new URL('./stubs/ssh2.cjs', import.meta.url));
const dockerodeSessionStub = fileURLToPath(new URL('./stubs/dockerode-session.cjs', import.meta.url));
const dockerodeBuildkitStub = fileURLToPath(new URL('./stubs/dockerode-buildkit.cjs', import.meta.url));
const zodLocalesStub = fileURLToPath(new URL('./stubs/zod-locales.mjs', import.meta.url));
const readableStreamStub = fileURLToPath(new URL('./stubs/readable-stream.cjs', import.meta.url));
const mqttTransportsStub = fileURLToPath(new URL('./stubs/mqtt-transports.cjs', import.meta.url));
const mqttTlsLazy = fileURLToPath(new URL('./stubs/mqtt-tls-lazy.cjs', import.meta.url));
const debugWhenEnabled = fileURLToPath(new URL('./stubs/debug-when-enabled.cjs', import.meta.url));
const lruCacheLazy = fileURLToPath(new URL('./stubs/lru-cache-lazy.cjs', import.meta.url));
const cronIntl = fileURLToPath(new URL('../src/device-agent/jobs/cron-intl.ts', import.meta.url));

/**
 * node-cron reads each tick's time with Intl.DateTimeFormat, and the first one a process builds costs
 * ~8 MB of ICU data for good. In the bundle, node-cron's module gets its own `Intl` binding
 * (src/device-agent/jobs/cron-intl.ts: UTC by arithmetic, everything else the real Intl); node_modules
 * is not changed. The build fails if node-cron's code no longer looks as expected, so that an upgrade
 * is looked at rather than silently losing the saving or meeting a formatter the stand-in does not know.
 */
const nodeCronIntl = {
  name: 'node-cron-intl',
  setup(b) {
    let bound = false;
    b.onLoad({ filter: /[\\/]node_modules[\\/]node-cron[\\/]dist[\\/][^\\/]+\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const uses = source.match(/\bIntl\b[^;\n]{0,20}/g) ?? [];
      if (uses.length === 0) return undefined;
      const unexpected = uses.filter((u) => !u.startsWith('Intl.DateTimeFormat('));
      if (unexpected.length > 0) throw new Error(`node-cron uses Intl in a way src/device-agent/jobs/cron-intl.ts does not know: ${unexpected.join(' | ')} (${args.path})`);
      bound = true;
      return { contents: `import { cronIntl as Intl } from ${JSON.stringify(cronIntl)};\n${source}`, loader: 'js' };
    });
    b.onEnd((result) => {
      if (result.errors.length === 0 && !bound) throw new Error('node-cron-intl: no node-cron module using Intl.DateTimeFormat was bundled; check scripts/bundle-agent.mjs against node-cron');
    });
  },
};

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
    nodeCronIntl,
    { name: 'stub-ssh2', setup: (b) => b.onResolve({ filter: /^(ssh2|cpu-features)$/ }, () => ({ path: ssh2Stub })) },
    {
      // dockerode's BuildKit parts (gRPC, protobufjs): only building images and docker.followProgress use them.
      name: 'stub-dockerode-buildkit',
      setup: (b) => {
        const fromDockerode = (importer) => /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]/.test(importer);
        b.onResolve({ filter: /^\.\/session$/ }, (args) => (fromDockerode(args.importer) ? { path: dockerodeSessionStub } : undefined));
        b.onResolve({ filter: /^\.\/buildkit$/ }, (args) => (fromDockerode(args.importer) ? { path: dockerodeBuildkitStub } : undefined));
      },
    },
    {
      // mqtt.js as the agent uses it: Node's own streams instead of two bundled copies of
      // readable-stream v4, no WebSocket, SOCKS or browser-timer transports, lru-cache only when
      // topic aliases are used, the mqtts:// transport (and Node's tls) only when used, debug (and
      // Node's tty) only when DEBUG is set (stubs/*.cjs say why).
      name: 'lean-mqtt',
      setup: (b) => {
        const fromMqtt = (importer) => /[\\/]node_modules[\\/](mqtt|mqtt-packet|bl)[\\/]/.test(importer);
        b.onResolve({ filter: /^readable-stream$/ }, (args) => (fromMqtt(args.importer) ? { path: readableStreamStub } : undefined));
        b.onResolve({ filter: /^(\.\/ws|\.\/socks|worker-timers)$/ }, (args) => (fromMqtt(args.importer) ? { path: mqttTransportsStub } : undefined));
        b.onResolve({ filter: /^lru-cache$/ }, (args) => (fromMqtt(args.importer) ? { path: lruCacheLazy } : undefined));
        b.onResolve({ filter: /^\.\/tls$/ }, (args) => (fromMqtt(args.importer) ? { path: mqttTlsLazy } : undefined));
        b.onResolve({ filter: /^debug$/ }, (args) => (fromMqtt(args.importer) ? { path: debugWhenEnabled } : undefined));
      },
    },
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
      // Only the protocol schemas the agent reaches are built (scripts/protocol-pure.mjs says why).
      name: 'protocol-pure',
      setup: (b) =>
        b.onLoad({ filter: /[\\/]src[\\/]protocol[\\/].*\.ts$/ }, (args) => ({ contents: markTopLevelCallsPure(readFileSync(args.path, 'utf8'), args.path), loader: 'ts' })),
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
