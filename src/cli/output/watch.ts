import { stringify } from 'yaml';
import { renderList, tableHeaders, tableRow, type Columns, type OutputFormat } from './format.js';
import { formatRow, tableWidths } from './table.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * `get <resource> --watch`, like kubectl: first the list exactly as `get <resource>` prints it
 * (same columns, same widths, through the same renderList), then one line per change at the
 * list's widths. The watch stream starts with the current state as ADDED events; those that
 * equal a listed item were already shown and are skipped, those that differ changed between
 * the list and the watch and are shown.
 */
export class WatchPrinter<T> {
  private widths: number[] | undefined;
  private readonly listed = new Map<string, string>();
  private readonly lastKnown = new Map<string, T>();
  private readonly wide: boolean;

  constructor(
    private readonly columns: Columns<T>,
    private readonly format: OutputFormat,
    private readonly key: (item: T) => string,
    private readonly print: (text: string) => void,
  ) {
    this.wide = format === 'wide';
  }

  list(items: readonly T[], emptyMessage: string): void {
    for (const item of items) {
      this.listed.set(this.key(item), JSON.stringify(item));
      this.lastKnown.set(this.key(item), item);
    }
    if (this.format === 'table' || this.format === 'wide') {
      this.print(renderList(items, this.format, this.columns, emptyMessage));
      if (items.length > 0) this.widths = tableWidths(tableHeaders(this.columns, this.wide), items.map((i) => tableRow(this.columns, i, this.wide)));
      return;
    }
    for (const item of items) this.printEvent('ADDED', item);
  }

  event(type: WatchEventType, item: T): void {
    const key = this.key(item);
    const listed = this.listed.get(key);
    this.listed.delete(key);
    if (type === 'ADDED' && listed === JSON.stringify(item)) return;
    this.lastKnown.set(key, item);
    this.printEvent(type, item);
  }

  /** A deletion the hub reports by key only: show the last state we saw, as kubectl does. */
  deleted(key: string): void {
    const item = this.lastKnown.get(key);
    this.listed.delete(key);
    if (item === undefined) return;
    this.lastKnown.delete(key);
    this.printEvent('DELETED', item);
  }

  private printEvent(type: WatchEventType, item: T): void {
    switch (this.format) {
      case 'json':
        return this.print(JSON.stringify({ type, object: item }));
      case 'yaml':
        return this.print(`---\n${stringify({ type, object: item }).trimEnd()}`);
      case 'name':
        return this.print(this.columns.name(item));
      case 'table':
      case 'wide': {
        const headers = tableHeaders(this.columns, this.wide);
        const row = tableRow(this.columns, item, this.wide);
        if (!this.widths) {
          this.widths = tableWidths(headers, [row]);
          this.print(formatRow(headers, this.widths));
        }
        return this.print(formatRow(row, this.widths));
      }
    }
  }
}
