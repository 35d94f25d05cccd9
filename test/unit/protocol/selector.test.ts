import test from 'ava';
import { formatSelector, parseSelector, selectorMatches } from '../../../src/protocol/index.js';

function parse(text: string) {
  const result = parseSelector(text);
  if (!result.ok) throw new Error(result.error);
  return result.selector;
}

test('kubectl selector syntax', (t) => {
  t.deepEqual(parse('site=plant-3,zone!=b'), { matchLabels: { site: 'plant-3' }, matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] });
  t.deepEqual(parse('gpu,!legacy'), { matchLabels: {}, matchExpressions: [{ key: 'gpu', operator: 'Exists', values: [] }, { key: 'legacy', operator: 'DoesNotExist', values: [] }] });
  t.deepEqual(parse('zone in (a, b),tier notin (x)').matchExpressions, [
    { key: 'zone', operator: 'In', values: ['a', 'b'] },
    { key: 'tier', operator: 'NotIn', values: ['x'] },
  ]);
  t.is(formatSelector(parse('site=a,zone in (x,y),!old')), 'site=a,zone in (x,y),!old');
});

test('bad selectors say what is wrong', (t) => {
  const bad = parseSelector('site==');
  t.true(bad.ok, 'empty value is allowed like kubectl');
  const invalid = parseSelector('bad key=1');
  t.false(invalid.ok);
  const value = parseSelector('k=has space');
  t.false(value.ok);
});

test('matching follows Kubernetes semantics for missing keys', (t) => {
  const labels = { site: 'plant-3', zone: 'a' };
  t.true(selectorMatches(labels, parse('site=plant-3')));
  t.false(selectorMatches(labels, parse('site=plant-4')));
  t.true(selectorMatches(labels, parse('tier!=x')), 'NotIn holds for a missing key');
  t.true(selectorMatches(labels, parse('!tier')));
  t.false(selectorMatches(labels, parse('tier')));
  t.true(selectorMatches(labels, parse('zone in (a,b)')));
});

test('label keys named like Object members match only labels a device really has', (t) => {
  for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    t.false(selectorMatches({}, parse(key)), `${key} exists on a device without labels`);
    t.true(selectorMatches({}, parse(`!${key}`)), `!${key}`);
    t.false(selectorMatches({ zone: 'a' }, parse(`${key} in (a)`)));
    t.true(selectorMatches({ [key]: 'x' }, parse(`${key}=x`)));
  }
});
