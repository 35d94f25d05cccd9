// `node probe-main.js`: prints the host facts as one JSON line and exits (see host-probe.ts).
import { readHostFacts } from './host-probe.js';
import { errorMessage } from '../../common/errors.js';

try {
  process.stdout.write(`${JSON.stringify(await readHostFacts())}\n`);
} catch (err) {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exitCode = 1;
}
