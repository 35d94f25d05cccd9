// How a workload finds its services on the device: a hosts entry per used service in its
// container (src/device-agent/runtime/docker/container-spec.ts), and the address the agent
// reports for its own endpoints (src/device-agent/services/advertise-address.ts).
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { buildCreateOptions, serviceHosts, type ContainerInstance } from '../../../src/device-agent/runtime/docker/container-spec.js';
import { advertisedAddress } from '../../../src/device-agent/services/advertise-address.js';
import { containerTemplateSchema } from '../../../src/protocol/index.js';

const template = containerTemplateSchema.parse({ runtime: 'container', image: 'busybox', services: ['tilt-api', 'db'] });

test('host networking: each used service names the proxy address; a bridge network: the host gateway', (t) => {
  t.deepEqual(serviceHosts(template, 'host', '127.0.0.1'), ['tilt-api:127.0.0.1', 'db:127.0.0.1']);
  t.deepEqual(serviceHosts(template, 'edge-net', '172.18.0.1'), ['tilt-api:host-gateway', 'db:host-gateway']);
  t.deepEqual(serviceHosts(containerTemplateSchema.parse({ runtime: 'container', image: 'busybox' }), 'host'), []);
});

test('the container is created with the hosts entries, and without ExtraHosts when it uses no service', (t) => {
  const instance: ContainerInstance = { id: 'client', workload: 'client', revision: 'aaaaaaaa', template };
  const serial = { binds: [], devices: [], cgroupRules: [], placements: [] };
  const options = buildCreateOptions(instance, serial, { deviceId: 'd', networkMode: 'host', log: createLogger('test', 'error'), serviceAddress: '127.0.0.1' });
  t.deepEqual(options.HostConfig?.ExtraHosts, ['tilt-api:127.0.0.1', 'db:127.0.0.1']);
  const plain = buildCreateOptions({ ...instance, template: containerTemplateSchema.parse({ runtime: 'container', image: 'busybox' }) }, serial, { deviceId: 'd', networkMode: 'host', log: createLogger('test', 'error') });
  t.is(plain.HostConfig?.ExtraHosts, undefined);
});

test('the advertised address: the flag, else the default route\'s interface, else the first non-internal IPv4 that is not a container bridge', (t) => {
  const lo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' };
  const eth = { address: '10.1.2.3', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '02:00:00:00:00:01', internal: false, cidr: '10.1.2.3/24' };
  const v6 = { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' as const, mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 };
  const docker0 = { ...eth, address: '172.17.0.1', cidr: '172.17.0.1/16' };
  const wlan = { ...eth, address: '192.168.7.20', cidr: '192.168.7.20/24' };
  const noRoutes = (): string => 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n';
  const viaWlan = (): string => `${noRoutes()}wlan0\t00000000\t0107A8C0\t0003\t0\t0\t600\t00000000\n`;
  t.is(advertisedAddress('192.168.7.2', { eth0: [eth] }, noRoutes), '192.168.7.2');
  t.is(advertisedAddress(undefined, { lo: [lo], docker0: [docker0], eth0: [v6, eth] }, noRoutes), '10.1.2.3', 'a container bridge is never advertised');
  t.is(advertisedAddress(undefined, { eth0: [eth], wlan0: [wlan] }, viaWlan), '192.168.7.20', 'the default route\'s interface first');
  t.is(advertisedAddress(undefined, { lo: [lo] }, () => {
    throw new Error('no /proc');
  }), undefined);
});
