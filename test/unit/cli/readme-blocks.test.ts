import test from 'ava';
import { parseReadme } from '../../support/readme-blocks.js';

const text = [
  '# Title', // 1
  '```sh', // 2
  'npm start   # builds, then runs', // 3
  '            # a comment that continues', // 4
  'edgepilot get devices -o wide      # hostname', // 5
  'node x.js --a 1 \\', // 6
  '     --b 2', // 7
  '```', // 8
  '```sh', // 9
  '$ edgepilot get devices', // 10
  'ID   STATUS', // 11
  'a    Online', // 12
  '$ edgepilot token create', // 13
  'abc.def    # shown once', // 14
  '```', // 15
  '```', // 16
  'error: not a command', // 17
  '```', // 18
  '```yaml', // 19
  'apiVersion: edgepilot.io/v1', // 20
  'kind: Workload', // 21
  'metadata: { name: w }', // 22
  '```', // 23
  '```yaml', // 24
  'just: data', // 25
  '```', // 26
].join('\n');

test('commands with their README line, comments and continuations; output under $ prompts', (t) => {
  const readme = parseReadme(text);
  t.deepEqual(
    readme.commands.map((c) => [c.line, c.text, c.comment, c.output]),
    [
      [3, 'npm start', 'builds, then runs', []],
      [5, 'edgepilot get devices -o wide', 'hostname', []],
      [6, 'node x.js --a 1 --b 2', '', []],
      [10, 'edgepilot get devices', '', ['ID   STATUS', 'a    Online']],
      [13, 'edgepilot token create', '', ['abc.def    # shown once']],
    ],
  );
});

test('manifests are YAML blocks with apiVersion and kind', (t) => {
  t.deepEqual(
    parseReadme(text).manifests.map((m) => [m.line, m.kind, m.name]),
    [[20, 'Workload', 'w']],
  );
});
