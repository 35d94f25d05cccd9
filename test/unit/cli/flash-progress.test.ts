import test from 'ava';
import { FlashProgressView } from '../../../src/cli/output/flash-progress.js';

function capture(tty: boolean): { view: FlashProgressView; text: () => string } {
  let out = '';
  return { view: new FlashProgressView({ write: (s: string) => (out += s) }, tty), text: () => out };
}

test('without a terminal: plain lines at each quarter of each step, up to 100 %', (t) => {
  const { view, text } = capture(false);
  for (let done = 0; done <= 4096; done += 256) view.progress('write', done, 4096);
  view.note('waiting for 2.0.0 to identify');
  view.progress('boot', 1, 1);
  t.is(text(), ['write 0%  0.0/4.0 KB', 'write 25%  1.0/4.0 KB', 'write 50%  2.0/4.0 KB', 'write 75%  3.0/4.0 KB', 'write 100%  4.0/4.0 KB', 'waiting for 2.0.0 to identify', 'boot 100%', ''].join('\n'));
});

test('on a terminal: one bar per step redrawn in place, ended before the next line', (t) => {
  const { view, text } = capture(true);
  view.progress('write', 0, 1024);
  view.progress('write', 1024, 1024);
  view.note('done');
  t.is(text(), `\rwrite    [${'.'.repeat(30)}]   0%  0.0/1.0 KB\rwrite    [${'#'.repeat(30)}] 100%  1.0/1.0 KB\ndone\n`);
});
