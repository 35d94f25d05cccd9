/** `describe` output: aligned "Key: value" lines, nested sections indented by two spaces. */
export type DescribeEntry = [label: string, value: string | string[]] | [section: string, entries: DescribeEntry[], 'section'];

export function renderDescribe(entries: DescribeEntry[], indent = 0): string {
  const width = Math.max(...entries.filter((e) => e.length === 2).map((e) => e[0].length + 1), 0) + 2;
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  for (const entry of entries) {
    if (entry.length === 3) {
      lines.push(`${pad}${entry[0]}:`);
      lines.push(renderDescribe(entry[1], indent + 2));
      continue;
    }
    const [label, value] = entry;
    const values = Array.isArray(value) ? (value.length === 0 ? ['<none>'] : value) : [value];
    lines.push(`${pad}${`${label}:`.padEnd(width)}${values[0] ?? ''}`);
    for (const more of values.slice(1)) lines.push(`${pad}${' '.repeat(width)}${more}`);
  }
  return lines.join('\n');
}

/** Indents every line of a block (tables under a section heading). */
export function indent(text: string, by = 2): string {
  const pad = ' '.repeat(by);
  return text
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n');
}
