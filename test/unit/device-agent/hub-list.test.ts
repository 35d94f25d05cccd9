import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { serversOption } from '../../../src/device-agent/session/device-session.js';
import { hubListPath, loadHubList, otherBrokers, refreshHubList, saveHubList } from '../../../src/device-agent/session/hub-list.js';
import type { Bootstrap } from '../../../src/protocol/index.js';

const log = createLogger('test', 'error');
const hubs = [
  { id: 'hub-a', apiUrl: 'https://a:7080', brokerUrl: 'mqtts://a:8883' },
  { id: 'hub-b', apiUrl: 'https://b:7080', brokerUrl: 'mqtts://b:8883' },
];

test('the session tries its own broker first, then the other hubs\' in the list\'s order', (t) => {
  t.deepEqual(serversOption('mqtts://a:8883', ['mqtts://b:8883', 'mqtts://a:8883', 'mqtt://[::1]:1883']), {
    servers: [
      { host: 'a', port: 8883, protocol: 'mqtts' },
      { host: 'b', port: 8883, protocol: 'mqtts' },
      { host: '::1', port: 1883, protocol: 'mqtt' },
    ],
  });
  t.deepEqual(serversOption('mqtt://a:1883', []), {}, 'one hub: mqtt.js connects as before');
});

test('an agent restarted while its first hub is down keeps the stored list', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-hublist-'));
  try {
    await saveHubList(dir, hubs);
    const asked: string[] = [];
    const list = await refreshHubList({
      stateDir: dir,
      hubUrls: ['https://a:7080'],
      fetchBootstrap: async (url) => {
        asked.push(url);
        throw new Error('ECONNREFUSED');
      },
      log,
    });
    t.deepEqual(list, hubs);
    t.deepEqual(asked, ['https://a:7080', 'https://b:7080'], 'every known hub is asked');
    t.deepEqual(otherBrokers(list, 'mqtts://a:8883'), ['mqtts://b:8883']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a hub that answers replaces the stored list durably; a damaged file is ignored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ep-hublist-'));
  try {
    await writeFile(hubListPath(dir), '{not json');
    t.deepEqual(await loadHubList(dir), []);
    const answer: Bootstrap = { hubVersion: '1', protocol: 'v1', brokerUrl: 'mqtts://b:8883', hubs: [hubs[1]!, hubs[0]!] };
    const list = await refreshHubList({ stateDir: dir, hubUrls: ['https://b:7080'], fetchBootstrap: async () => answer, log });
    t.deepEqual(list.map((h) => h.id), ['hub-b', 'hub-a']);
    t.deepEqual((await loadHubList(dir)).map((h) => h.id), ['hub-b', 'hub-a']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
