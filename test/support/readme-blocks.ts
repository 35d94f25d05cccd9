// README.md's fenced blocks, as the README test reads them: shell commands (with the output
// the README shows after `$ ` commands) and YAML manifests, each with its line number.
import { parse } from 'yaml';

export interface ReadmeCommand {
  /** 1-based line of the command in README.md (its first line when continued with `\`). */
  line: number;
  /** The command as written, `$ ` prompt and trailing `# comment` removed, continuations joined, spaces collapsed. */
  text: string;
  /** The trailing comment, if any (it often says what to expect). */
  comment: string;
  /** Output lines the README shows under a `$ ` command. */
  output: string[];
}

export interface ReadmeManifest {
  line: number;
  text: string;
  kind: string;
  name: string | undefined;
}

export interface Readme {
  commands: ReadmeCommand[];
  manifests: ReadmeManifest[];
}

interface Block {
  lang: string;
  /** Line number of the block's first content line. */
  start: number;
  lines: string[];
}

function blocks(text: string): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  text.split('\n').forEach((line, i) => {
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence && !current) current = { lang: fence[1] ?? '', start: i + 2, lines: [] };
    else if (fence && current) {
      out.push(current);
      current = undefined;
    } else current?.lines.push(line);
  });
  return out;
}

/** Splits `cmd   # comment` (the README never puts `#` inside a quoted argument). */
function splitComment(line: string): { code: string; comment: string } {
  const match = /^(.*?)(?:^|\s+)#\s?(.*)$/.exec(line);
  return match ? { code: (match[1] ?? '').trimEnd(), comment: (match[2] ?? '').trim() } : { code: line.trimEnd(), comment: '' };
}

function shellCommands(block: Block): ReadmeCommand[] {
  const prompted = block.lines.some((l) => l.startsWith('$ '));
  const out: ReadmeCommand[] = [];
  let continuing: ReadmeCommand | undefined;
  block.lines.forEach((raw, i) => {
    const line = block.start + i;
    if (continuing) {
      const { code, comment } = splitComment(raw);
      continuing.text += ` ${code.replace(/\\$/, '').trim()}`;
      if (comment) continuing.comment = comment;
      if (!code.endsWith('\\')) continuing = undefined;
      return;
    }
    if (prompted && !raw.startsWith('$ ')) {
      // Output of the previous command.
      if (raw.trim() !== '') out.at(-1)?.output.push(raw);
      return;
    }
    const { code, comment } = splitComment(prompted ? raw.slice(2) : raw);
    if (code.trim() === '') return; // a comment line continuing the previous one
    const command: ReadmeCommand = { line, text: code.replace(/\\$/, '').trim(), comment, output: [] };
    out.push(command);
    if (code.endsWith('\\')) continuing = command;
  });
  for (const c of out) c.text = c.text.replace(/\s+/g, ' ');
  return out;
}

export function parseReadme(text: string): Readme {
  const readme: Readme = { commands: [], manifests: [] };
  for (const block of blocks(text)) {
    if (block.lang === 'sh' || block.lang === 'bash' || block.lang === 'shell') readme.commands.push(...shellCommands(block));
    if (block.lang === 'yaml' || block.lang === 'yml') {
      const body = block.lines.join('\n');
      const doc = parse(body) as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown } } | null;
      if (doc && typeof doc.kind === 'string' && doc.apiVersion !== undefined) {
        readme.manifests.push({ line: block.start, text: `${body}\n`, kind: doc.kind, name: typeof doc.metadata?.name === 'string' ? doc.metadata.name : undefined });
      }
    }
  }
  return readme;
}
