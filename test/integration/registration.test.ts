import test from 'ava';
import { runRegistrationScenario } from '../support/registration-scenario.js';

test('three agents register through the embedded broker, go offline by last will and come back with the same id', async (t) => {
  await runRegistrationScenario(t, {});
});
