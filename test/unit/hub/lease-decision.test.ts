import test from 'ava';
import { decideLease } from '../../../src/hub/store/postgres/lease-decision.js';

const NOW = 1_000_000;

test('no lease row: take it in term 1', (t) => {
  t.deepEqual(decideLease(undefined, NOW, 'hub-a'), { action: 'acquire', term: 1n });
});

test('my unexpired lease: renew in the same term', (t) => {
  t.deepEqual(decideLease({ holder: 'hub-a', term: 7n, expiresAt: NOW + 1 }, NOW, 'hub-a'), { action: 'renew', term: 7n });
});

test("another hub's unexpired lease: follow it", (t) => {
  t.deepEqual(decideLease({ holder: 'hub-b', term: 7n, expiresAt: NOW + 5000 }, NOW, 'hub-a'), { action: 'follow', holder: 'hub-b', term: 7n });
});

test("another hub's expired lease: take it in the next term (the fencing token rises)", (t) => {
  t.deepEqual(decideLease({ holder: 'hub-b', term: 7n, expiresAt: NOW }, NOW, 'hub-a'), { action: 'acquire', term: 8n });
});

test('my own expired lease: a new term, not a renewal (a paused hub must not keep its old term)', (t) => {
  t.deepEqual(decideLease({ holder: 'hub-a', term: 7n, expiresAt: NOW - 1 }, NOW, 'hub-a'), { action: 'acquire', term: 8n });
});
