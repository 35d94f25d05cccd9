import { stringify } from 'yaml';
import { CliError } from '../errors.js';
import { renderTable } from './table.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  if (value === 'wide' || value === 'json' || value === 'yaml' || value === 'name') return value;
  throw new CliError(`unknown output format "${value}" (use wide, json, yaml or name)`);
}

export interface Columns<T> {
  headers: string[];
  row(item: T): string[];
  /** Extra columns for `-o wide`. */
  wideHeaders?: string[];
  wideRow?(item: T): string[];
  name(item: T): string;
}

/** The header of a table, `-o wide` adding its extra columns; `get` and `get --watch` share it. */
export function tableHeaders<T>(columns: Columns<T>, wide: boolean): string[] {
  return wide && columns.wideRow ? [...columns.headers, ...(columns.wideHeaders ?? [])] : columns.headers;
}

/** One item as table cells, matching tableHeaders. */
export function tableRow<T>(columns: Columns<T>, item: T, wide: boolean): string[] {
  return wide && columns.wideRow ? [...columns.row(item), ...columns.wideRow(item)] : columns.row(item);
}

/** Lists print as `{kind: List, items}` in json/yaml, as kubectl does, so scripts see one shape. */
export function renderList<T>(items: readonly T[], format: OutputFormat, columns: Columns<T>, emptyMessage: string): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ kind: 'List', items }, null, 2);
    case 'yaml':
      return stringify({ kind: 'List', items }).trimEnd();
    case 'name':
      return items.map((i) => columns.name(i)).join('\n');
    case 'table':
    case 'wide': {
      if (items.length === 0) return emptyMessage;
      const wide = format === 'wide';
      return renderTable(tableHeaders(columns, wide), items.map((i) => tableRow(columns, i, wide)));
    }
  }
}

export function renderObject(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}
