// The dashboard end to end (issue 16) in Debian's Chromium, driven by playwright-core: a real hub
// and a gateway agent as processes, an emulated STM32F103 (QEMU) sending tilt telemetry over a
// pseudo-terminal, a workload, a release and a rollout. Screenshots of each page are written to
// dist/test-artifacts/dashboard/ (CI keeps them; the README's come from here).
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Bench } from '../../hardware/bench/bench.js';
import { rolloutViewSchema } from '../../src/protocol/index.js';
import { repoRoot } from '../support/paths.js';
import { waitFor } from '../support/wait.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot, 'dist', 'test-artifacts', 'dashboard');
const STM_SERIAL = '0123456789abcdef';
const STM_ID = `stm32f103-${STM_SERIAL}`;

let rig: Rig | undefined;
let stm: Bench | undefined;
let browser: Browser | undefined;
let gatewayId = '';

test.before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  rig = await startRig('dashboard', [['stm32', '1.0.0']]);
  stm = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: STM_SERIAL });
  gatewayId = (await rig.startGateway([stm.hostPath])).deviceId;
  const labelled = await rig.cli(['label', 'device', gatewayId, 'site=plant-3', 'line=1']);
  if (labelled.code !== 0) throw new Error(`label failed: ${labelled.stderr}`);
  await rig.waitForMcu('the STM32 online', (m) => m.id === STM_ID && m.online);
  // A workload on the gateway, and a release of it rolled out with a long soak, so the rollout
  // stays in progress while the page pauses and resumes it.
  const manifests = join(rig.root, 'dashboard.yaml');
  const template = (version: string): string => `
      runtime: process
      command: [sh, -c, 'while :; do echo tilt ok; sleep 1; done']
      env: { VERSION: "${version}" }
      terminationGracePeriodSeconds: 1`;
  await writeFile(
    manifests,
    `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: tilt-logger }
spec:
  replicas: all
  selector: { matchLabels: { site: plant-3 } }
  template:${template('1').replace(/\n {6}/g, '\n    ')}
---
apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: tilt-rel }
spec:
  version: 2.0.0
  workloads:
    tilt-logger:${template('2')}
`,
  );
  const applied = await rig.cli(['apply', '-f', manifests]);
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  const rollout = join(rig.root, 'rollout.yaml');
  await writeFile(
    rollout,
    `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: plant-3-tonight }
spec:
  selector: { matchLabels: { site: plant-3 } }
  release: { name: tilt-rel, version: 2.0.0 }
  waves:
    - { name: all, percent: 100, minHealthySeconds: 3600, healthyDeadlineSeconds: 7200, progressDeadlineSeconds: 10800 }
`,
  );
  const started = await rig.cli(['rollout', 'start', '-f', rollout]);
  if (started.code !== 0) throw new Error(`rollout start failed: ${started.stderr}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

test.after.always(async () => {
  await browser?.close();
  await rig?.cleanup();
});

async function open(): Promise<Page> {
  if (!browser || !rig) throw new Error('setup failed');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${rig.hub.apiUrl}/`);
  return page;
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
}

/** A person's API token made with the CLI, as an admin would hand it out. */
async function personToken(role: 'viewer' | 'operator', name: string): Promise<string> {
  if (!rig) throw new Error('setup failed');
  const created = await rig.cli(['token', 'create', '--role', role, '--name', name, '-o', 'json']);
  if (created.code !== 0) throw new Error(`token create failed: ${created.stderr}`);
  const token = new RegExp(`epu_${name}_[^"\\s]+`).exec(created.stdout)?.[0];
  if (!token) throw new Error(`no token in ${created.stdout}`);
  return token;
}

async function rolloutPhase(): Promise<string> {
  if (!rig) throw new Error('setup failed');
  const response = await fetch(`${rig.hub.apiUrl}/v1/rollouts/plant-3-tonight`, { headers: { authorization: `Bearer ${rig.hub.adminToken}` } });
  return rolloutViewSchema.parse(await response.json()).phase;
}

test.serial('log in with a token (a wrong one is refused), see the fleet, open the gateway and watch its MCU telemetry chart move', async (t) => {
  if (!rig) throw new Error('setup failed');
  const page = await open();
  t.regex(page.url(), /\/ui\/$/, '/ redirects to the dashboard');
  await logIn(page, 'ep_not-a-token');
  await page.getByRole('alert').waitFor();
  t.regex((await page.getByRole('alert').textContent()) ?? '', /does not accept this token/);
  await page.screenshot({ path: join(ARTIFACTS, 'login.png') });

  await logIn(page, rig.hub.adminToken);
  await page.locator(`tr[data-device="${gatewayId}"]`).waitFor();
  t.is((await page.locator('[data-testid=count-total] b').textContent())?.trim(), '1');
  t.regex((await page.locator(`tr[data-device="${gatewayId}"]`).textContent()) ?? '', /online/);
  await page.fill('[data-testid=filter]', 'site=elsewhere');
  await page.locator('[data-testid=shown]', { hasText: '0 shown' }).waitFor();
  await page.fill('[data-testid=filter]', 'site=plant-3');
  await page.locator('[data-testid=shown]', { hasText: '1 shown' }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'fleet.png') });

  await page.click(`a[href="#/devices/${gatewayId}"]`);
  await page.locator(`section[data-mcu="${STM_ID}"]`).waitFor();
  t.regex((await page.locator(`section[data-mcu="${STM_ID}"]`).textContent()) ?? '', /firmware 1\.0\.0/);
  // The chart is fed by the hub's telemetry stream: frames keep arriving and the values change.
  const frames = page.locator('[data-testid=telemetry-frames]');
  const count = async (): Promise<number> => Number(/(\d+) frames/.exec((await frames.textContent()) ?? '')?.[1] ?? 0);
  const first = await waitFor('telemetry frames on the page', async () => ((await count()) > 3 ? count() : undefined), 30_000, 200);
  const firstValues = await page.locator('[data-testid=telemetry-values]').textContent();
  t.regex(firstValues ?? '', /pitch -?\d+\.\d\d/);
  await waitFor('more frames, other values', async () => (await count()) > first + 5 && (await page.locator('[data-testid=telemetry-values]').textContent()) !== firstValues, 30_000, 200);
  t.true((await page.locator('canvas').count()) > 0, 'the chart is drawn');
  await page.locator('[data-testid=instances] td', { hasText: 'tilt-logger' }).first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'device.png'), fullPage: true });

  // Each page once its data arrived (the jobs page has none in this fleet: its empty tables).
  for (const [hash, testid, text] of [['workloads', 'workloads', 'tilt-logger'], ['firmware', 'mcus', STM_ID], ['jobs', 'jobs', undefined]] as const) {
    await page.goto(`${rig.hub.apiUrl}/ui/#/${hash}`);
    await (text ? page.locator(`[data-testid=${testid}] td`, { hasText: text }).first() : page.locator(`[data-testid=${testid}]`)).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `${hash}.png`), fullPage: true });
  }
  // A workload's log tail, from its device through the hub.
  await page.goto(`${rig.hub.apiUrl}/ui/#/workloads`);
  await page.click('a[data-workload="tilt-logger"]');
  await page.locator('[data-testid=logs]', { hasText: 'tilt ok' }).waitFor();
  t.regex((await page.locator('[data-testid=logs]').textContent()) ?? '', new RegExp(`${gatewayId} tilt-logger: tilt ok`));
  await page.close();
});

test.serial('an operator pauses and resumes a rollout from its page, and the hub records it', async (t) => {
  if (!rig) throw new Error('setup failed');
  const page = await open();
  await logIn(page, await personToken('operator', 'olga'));
  await page.locator('.who', { hasText: 'olga (operator)' }).waitFor();
  await page.goto(`${rig.hub.apiUrl}/ui/#/rollouts`);
  const section = page.locator('section[data-rollout="plant-3-tonight"]');
  await section.waitFor();
  await section.locator('[data-testid=phase]', { hasText: 'progressing' }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'rollouts.png'), fullPage: true });
  await section.locator('button[data-action=pause]').click();
  await section.locator('[data-testid=phase]', { hasText: 'paused' }).waitFor();
  t.is(await rolloutPhase(), 'paused');
  // The same rollout in /metrics, as a plant's Grafana would chart it.
  const metrics = await (await fetch(`${rig.hub.apiUrl}/metrics`, { headers: { authorization: `Bearer ${rig.hub.adminToken}` } })).text();
  t.regex(metrics, /^edgepilot_rollout_wave\{rollout="plant-3-tonight",phase="paused"\} 0$/m);
  t.regex(metrics, /^edgepilot_rollout_devices\{rollout="plant-3-tonight",state="[a-z-]+"\} 1$/m);
  await section.locator('button[data-action=resume]').click();
  await section.locator('[data-testid=phase]', { hasText: 'progressing' }).waitFor();
  t.is(await rolloutPhase(), 'progressing');
  const history = await rig.cli(['rollout', 'history', 'plant-3-tonight']);
  t.regex(history.stdout, /paused[\s\S]*resumed/);
  const audit = await rig.cli(['audit', '--who', 'olga', '-o', 'json']);
  t.regex(audit.stdout, /rollouts\/:name\/commands/, 'the audit log names the operator who paused it');
  await page.close();
});

test.serial('a viewer sees the rollout but no buttons, and the API refuses the command anyway', async (t) => {
  if (!rig) throw new Error('setup failed');
  const token = await personToken('viewer', 'alice');
  const page = await open();
  await logIn(page, token);
  await page.locator('.who', { hasText: 'alice (viewer)' }).waitFor();
  await page.goto(`${rig.hub.apiUrl}/ui/#/rollouts`);
  const section = page.locator('section[data-rollout="plant-3-tonight"]');
  await section.locator('[data-testid=phase]').waitFor();
  t.is(await section.locator('button').count(), 0, 'no button that changes anything');
  await page.screenshot({ path: join(ARTIFACTS, 'rollouts-viewer.png'), fullPage: true });
  const refused = await fetch(`${rig.hub.apiUrl}/v1/rollouts/plant-3-tonight/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'pause' }),
  });
  t.is(refused.status, 403);
  t.regex(((await refused.json()) as { message: string }).message, /alice: role viewer may not/);
  t.is(await rolloutPhase(), 'progressing');
  await page.close();
});
