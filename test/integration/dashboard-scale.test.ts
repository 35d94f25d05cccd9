// The dashboard's fleet overview with 5,000 devices (issue 16: "5,000 devices in the overview stay
// responsive"): the table is virtualised, so the page holds a few dozen rows whatever the fleet,
// scrolling brings the right ones in, and the counts and the search cover every device. The
// fleet is written into the hub's store before it starts (registering 5,000 agents is the
// benchmarks' job, not this test's).
import test from 'ava';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import type { DeviceRecord } from '../../src/hub/store/records.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { startHubProcess } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';

const DEVICES = 5000;

test('5,000 devices: counts cover all, the DOM holds only the rows in view, scrolling and search find any device', async (t) => {
  const tmp = await makeTempDir('ep-dashboard-scale-');
  t.teardown(() => tmp.remove());
  const dataDir = join(tmp.path, 'hub');
  const store = await openLowdbStore(dataDir);
  const since = new Date().toISOString();
  for (let i = 0; i < DEVICES; i++) {
    const id = `board-${String(i).padStart(4, '0')}`;
    const device: DeviceRecord = {
      id,
      hardwareId: `hw-${id}`,
      hostname: id,
      labels: { site: `plant-${i % 5}` },
      taints: [],
      unschedulable: false,
      credentialHash: 'x',
      registeredAt: since,
      joinedWithToken: 't',
      status: { state: i % 10 === 0 ? 'offline' : 'online', reason: 'connected', since, agentVersion: '0.1.0', bootId: 'b', sessionId: 's' } as DeviceRecord['status'],
      facts: gatewayFacts({ hostname: id }),
    };
    await store.devices.put(device, i === DEVICES - 1 ? 'sync' : 'lazy');
  }
  await store.close();

  const hub = await startHubProcess({ root: tmp.path, dataDir });
  t.teardown(() => hub.proc.kill('SIGKILL'));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${hub.apiUrl}/ui/`);
  await page.fill('input[name=token]', hub.adminToken);
  await page.click('button[type=submit]');
  await page.locator('[data-testid=count-total] b', { hasText: String(DEVICES) }).waitFor({ timeout: 60_000 });
  // The hub's restart marks nobody offline until their sessions end; what matters is that every device is counted.
  t.is(Number(await page.locator('[data-testid=count-total] b').textContent()), DEVICES);

  const rows = await page.locator('tr.row').count();
  t.true(rows > 0 && rows < 80, `${rows} rows in the DOM for ${DEVICES} devices`);
  t.is(await page.locator('tr[data-device="board-0000"]').count(), 1);
  t.is(await page.locator('tr[data-device="board-4999"]').count(), 0, 'rows out of view are not drawn');

  await page.locator('.viewport').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.locator('tr[data-device="board-4999"]').waitFor();
  t.is(await page.locator('tr[data-device="board-0000"]').count(), 0);
  t.true((await page.locator('tr.row').count()) < 80);

  await page.locator('.viewport').evaluate((el) => el.scrollTo(0, 0));
  await page.fill('[data-testid=search]', 'board-3141');
  await page.locator('[data-testid=shown]', { hasText: /^1 shown$/ }).waitFor();
  await page.locator('tr[data-device="board-3141"]').waitFor();
  await page.fill('[data-testid=search]', '');
  await page.fill('[data-testid=filter]', 'site=plant-2');
  await page.locator('[data-testid=shown]', { hasText: /^1000 shown$/ }).waitFor();
});
