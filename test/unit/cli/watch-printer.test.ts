import test from 'ava';
import { renderList, type Columns } from '../../../src/cli/output/format.js';
import { WatchPrinter } from '../../../src/cli/output/watch.js';

interface Item {
  id: string;
  state: string;
}
const columns: Columns<Item> = {
  headers: ['ID', 'STATUS'],
  row: (i) => [i.id, i.state],
  wideHeaders: ['EXTRA'],
  wideRow: (i) => [`x-${i.id}`],
  name: (i) => `item/${i.id}`,
};

function printer(format: 'table' | 'wide' | 'json' = 'table'): { lines: string[]; watch: WatchPrinter<Item> } {
  const lines: string[] = [];
  return { lines, watch: new WatchPrinter(columns, format, (i) => i.id, (text) => lines.push(...text.split('\n'))) };
}

const a = { id: 'device-aaaa', state: 'Online' };
const b = { id: 'b', state: 'Offline' };

test('opens with the list as get prints it; the stream\'s copy of it is not printed twice', (t) => {
  for (const format of ['table', 'wide'] as const) {
    const { lines, watch } = printer(format);
    watch.list([a, b], 'none');
    watch.event('ADDED', a);
    watch.event('ADDED', b);
    t.deepEqual(lines, renderList([a, b], format, columns, 'none').split('\n'));
  }
});

test('changes print at the list\'s widths; a change between list and watch is shown', (t) => {
  const { lines, watch } = printer();
  watch.list([a, b], 'none');
  watch.event('ADDED', { ...b, state: 'Online' });
  watch.event('MODIFIED', { ...a, state: 'Offline' });
  t.deepEqual(lines.slice(3), ['b             Online', 'device-aaaa   Offline']);
});

test('an empty list, then the first row brings its header; a deletion by id shows the last state', (t) => {
  const { lines, watch } = printer();
  watch.list([], 'No devices registered yet.');
  watch.event('ADDED', b);
  watch.deleted('b');
  watch.deleted('unknown');
  t.deepEqual(lines, ['No devices registered yet.', 'ID   STATUS', 'b    Offline', 'b    Offline']);
});

test('json: one event per line, the list as ADDED', (t) => {
  const { lines, watch } = printer('json');
  watch.list([a], 'none');
  watch.event('ADDED', a);
  watch.event('DELETED', a);
  t.deepEqual(lines.map((l) => (JSON.parse(l) as { type: string }).type), ['ADDED', 'DELETED']);
});
