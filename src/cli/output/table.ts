/** kubectl-style table: upper-case headers, columns separated by three spaces, no borders. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = tableWidths(headers, rows);
  return [formatRow(headers, widths), ...rows.map((r) => formatRow(r, widths))].join('\n');
}

/** Each column as wide as its widest cell. */
export function tableWidths(headers: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
}

/** One row at given widths; a watch prints rows one at a time before it knows the widest. */
export function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join('   ')
    .trimEnd();
}

