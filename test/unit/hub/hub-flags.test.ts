import test from 'ava';
import { hubConfigFromFlags, type HubFlags } from '../../../src/hub/hub-command.js';

const base: HubFlags = { listen: '127.0.0.1:7080', mqttListen: '127.0.0.1:1883', writeConfig: false, autoscaleInterval: '15' };

test('TLS is on unless --insecure; extra certificate names come from --tls-san and EDGEPILOT_TLS_SAN', (t) => {
  const config = hubConfigFromFlags({ ...base, tlsSan: ['hub.plant-3.example'] }, { EDGEPILOT_TLS_SAN: 'hub.plant-3, 10.3.0.5' });
  t.is(config.insecure, undefined);
  t.deepEqual(config.tlsNames, ['hub.plant-3', '10.3.0.5', 'hub.plant-3.example']);
  t.true(hubConfigFromFlags({ ...base, insecure: true }, {}).insecure);
});

test('--tls-cert, --tls-key and --tls-ca go together, and not with --insecure', (t) => {
  t.deepEqual(hubConfigFromFlags({ ...base, tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem' }, {}).tlsFiles, { cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' });
  t.throws(() => hubConfigFromFlags({ ...base, tlsCert: 'c.pem' }, {}), { message: /--tls-cert, --tls-key and --tls-ca must be given together/ });
  t.throws(() => hubConfigFromFlags({ ...base, insecure: true, tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem' }, {}), { message: /--insecure turns TLS off/ });
});

test('--broker-dynsec needs --broker', (t) => {
  t.throws(() => hubConfigFromFlags({ ...base, brokerDynsec: true }, {}), { message: /--broker-dynsec needs --broker/ });
  t.true(hubConfigFromFlags({ ...base, brokerDynsec: true, broker: 'mqtt://admin:pw@127.0.0.1:1883' }, {}).brokerDynsec);
});

test('--auth-failure-rate sets the failed-login budget per address, or turns it off, keeping the other limits', (t) => {
  const limited = hubConfigFromFlags({ ...base, authFailureRate: '1,5' }, {}).limits;
  t.deepEqual(limited?.failedAuth, { perSecond: 1, capacity: 5 });
  t.truthy(limited?.join, 'the join limit keeps its default');
  const off = hubConfigFromFlags({ ...base, authFailureRate: 'off', joinRate: '1,2' }, {}).limits;
  t.is(off?.failedAuth, undefined);
  t.is(off?.join?.perSource.perSecond, 1);
  t.deepEqual(hubConfigFromFlags({ ...base, joinRate: 'off' }, {}).limits?.failedAuth, { perSecond: 0.5, capacity: 30 }, 'another limit flag does not drop this one');
  t.throws(() => hubConfigFromFlags({ ...base, authFailureRate: 'fast' }, {}), { message: /--auth-failure-rate must be/ });
});

test('--store takes a postgres:// URL; lowdb in the data folder stays the default', (t) => {
  t.is(hubConfigFromFlags(base, {}).store, undefined);
  t.is(hubConfigFromFlags({ ...base, store: 'postgres://ep:pw@db:5432/edgepilot' }, {}).store, 'postgres://ep:pw@db:5432/edgepilot');
  t.is(hubConfigFromFlags({ ...base, store: 'postgresql://db/edgepilot' }, {}).store, 'postgresql://db/edgepilot');
  t.throws(() => hubConfigFromFlags({ ...base, store: '/var/lib/edgepilot' }, {}), { message: /--store must be a postgres:\/\/user:password@host:port\/database URL, not "\/var\/lib\/edgepilot"/ });
});
