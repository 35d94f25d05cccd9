// The agent bundle (dist/agent, built by `npm run build`) keeps only the part of the protocol and of
// zod that the agent reaches, and leaves TLS to the agents that use it: what each bought is in
// bench/RESULTS.md ("agent memory, seventh session").
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../support/paths.js';

interface ProtocolPure {
  markTopLevelCallsPure(source: string, fileName: string): string;
}
const protocolPure = (): Promise<ProtocolPure> => import(pathToFileURL(join(repoRoot, 'scripts', 'protocol-pure.mjs')).href) as Promise<ProtocolPure>;

/** The agent's own chunks: not the facts probe (its own process) nor dockerode (loaded with the first container). */
async function agentChunks(): Promise<{ name: string; text: string }[]> {
  const dir = join(repoRoot, 'dist', 'agent');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.mjs') && !n.startsWith('facts-probe') && !/^docker-[A-Z0-9]+\.mjs$/.test(n));
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
}

test('the agent bundle holds no zod schema kind the agent never builds (zod is imported as a namespace)', async (t) => {
  // Each zod kind names itself in a string when its class is made; the protocol uses none of these.
  const chunks = await agentChunks();
  for (const kind of ['ZodCodec', 'ZodTemplateLiteral', 'ZodPromise', 'ZodFile', 'ZodMAC']) {
    t.deepEqual(chunks.filter((c) => c.text.includes(`"${kind}"`)).map((c) => c.name), [], `${kind} is bundled: an \`import { z } from 'zod'\` keeps all of zod`);
  }
});

test('the agent bundle leaves out the hub-only schemas of the protocol modules it imports', async (t) => {
  // api.ts holds bootstrapSchema (the agent parses it) next to the hub's device views (pendingRejoin);
  // workload.ts (maxSurge) and service.ts (the service view's notReady) likewise sit in the agent's
  // imports next to schemas it uses. None of these words is in the agent's own code.
  const chunks = await agentChunks();
  for (const field of ['pendingRejoin', 'maxSurge', 'notReady']) {
    t.deepEqual(chunks.filter((c) => c.text.includes(field)).map((c) => c.name), [], `a hub-only schema with "${field}" is bundled`);
  }
});

test('the agent bundle imports node:https and node:tls only on first use', async (t) => {
  const chunks = await agentChunks();
  for (const mod of ['node:https', 'node:tls']) t.deepEqual(chunks.filter((c) => c.text.includes(`from"${mod}"`)).map((c) => c.name), [], `${mod} is imported at load`);
  t.true(chunks.some((c) => c.text.includes('import("node:https")')), 'the lazy import is there');
});

test("mqtt.js's debug is a silent stand-in without DEBUG (the real one loads tty)", async (t) => {
  // The stub decides at load; this process has no DEBUG (ava's workers inherit the environment).
  t.is(process.env['DEBUG'], undefined);
  const createRequire = (await import('node:module')).createRequire;
  const createDebug = createRequire(import.meta.url)(join(repoRoot, 'scripts', 'stubs', 'debug-when-enabled.cjs')) as ((ns: string) => { enabled: boolean; namespace: string; extend(s: string): { namespace: string } } & ((...a: unknown[]) => void)) & { enabled(ns: string): boolean };
  const log = createDebug('mqttjs:client');
  t.notThrows(() => log('connecting %s', 'x'));
  t.false(log.enabled);
  t.is(log.extend('tls').namespace, 'mqttjs:client:tls');
  t.false(createDebug.enabled('mqttjs:client'));
});

test('protocol-pure marks the calls a module runs at its top level, and none inside functions', async (t) => {
  const { markTopLevelCallsPure } = await protocolPure();
  const source = [
    "import * as z from 'zod';",
    'export const a = z.object({ n: z.number().int() }).strict();',
    'const b = new RegExp(`x`);',
    'export function f(h: { update(x: string): void }) { h.update(String(1)); }',
    'export const c = z.string().refine((v) => v.trim() !== String(v));',
  ].join('\n');
  const out = markTopLevelCallsPure(source, 'fixture.ts').split('\n');
  t.is(out[1], 'export const a = /* @__PURE__ */ z.object({ n: /* @__PURE__ */ z.number().int() }).strict();');
  t.is(out[2], 'const b = /* @__PURE__ */ new RegExp(`x`);');
  t.is(out[3], 'export function f(h: { update(x: string): void }) { h.update(String(1)); }');
  t.is(out[4], 'export const c = /* @__PURE__ */ z.string().refine((v) => v.trim() !== String(v));');
});

test('protocol-pure refuses a protocol module whose top level runs something for its effect', async (t) => {
  const { markTopLevelCallsPure } = await protocolPure();
  const err = t.throws(() => markTopLevelCallsPure("import * as z from 'zod';\nz.config({ jitless: true });\n", 'effect.ts'));
  t.is((err as Error & { code?: string }).code, 'PROTOCOL_TOP_LEVEL_EFFECT');
  t.regex(err!.message, /effect\.ts:2/);
  t.throws(() => markTopLevelCallsPure('export class Registry { static all = new Map(); }\n', 'static.ts'), { message: /static\.ts:1/ });
});

test("the Docker chunk leaves out dockerode's BuildKit parts (gRPC, protobufjs); the stand-ins say what is missing", async (t) => {
  const dir = join(repoRoot, 'dist', 'agent');
  const docker = (await readdir(dir)).filter((n) => /^docker-[A-Z0-9]+\.mjs$/.test(n));
  t.is(docker.length, 1, `one Docker chunk: ${docker.join(', ')}`);
  const text = await readFile(join(dir, docker[0]!), 'utf8');
  t.true(text.includes('createContainer'), 'it is dockerode');
  for (const marker of ['grpc-status', 'grpc-js', 'moby.buildkit.v1.StatusResponse']) t.false(text.includes(marker), `${marker} is bundled`);
  const createRequire = (await import('node:module')).createRequire;
  const require = createRequire(import.meta.url);
  const withSession = require(join(repoRoot, 'scripts', 'stubs', 'dockerode-session.cjs')) as (d: unknown, a: unknown, h: (err: Error | null) => void) => void;
  let said: Error | null = null;
  withSession({}, {}, (err) => (said = err));
  t.regex(String(said), /building images .* not available in the edgepilot agent/);
  const buildkit = require(join(repoRoot, 'scripts', 'stubs', 'dockerode-buildkit.cjs')) as { followProgress(s: unknown, done?: (err: Error | null) => void): void };
  t.throws(() => buildkit.followProgress({}), { message: /BuildKit progress is not available/ });
});
