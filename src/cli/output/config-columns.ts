import type { ConfigObjectView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

/** `get configmaps|secrets`: keys and sizes, never values. */
export const configObjectColumns: Columns<ConfigObjectView> = {
  headers: ['NAME', 'KEYS', 'BYTES', 'VERSION', 'IMMUTABLE', 'USED BY', 'AGE'],
  row: (c) => [
    c.name,
    String(c.keys.length),
    String(Object.values(c.sizes).reduce((a, b) => a + b, 0)),
    c.version.slice(0, 8),
    c.immutable ? 'yes' : 'no',
    c.usedBy.length === 0 ? '<none>' : c.usedBy.join(','),
    formatAge(c.updatedAt),
  ],
  name: (c) => `${c.kind.toLowerCase()}/${c.name}`,
};
