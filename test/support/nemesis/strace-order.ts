// Reads an `strace -f -ttt -yy` trace of the hub and judges the durable-write order of one API
// acknowledgement: before the HTTP response is written to the client's socket, the file that holds
// the acknowledged state must have been written to a temp file, fsynced, renamed over the target,
// and the folder fsynced after the rename. Pure: it gets the trace's text.

export interface TracedCall {
  /** Line of the trace where the call started, and where it completed (the same line unless it was interrupted). */
  startLine: number;
  endLine: number;
  pid: number;
  /** Seconds since the epoch when the call started. */
  startedAt: number;
  name: string;
  /** The argument text, with -yy's fd decorations (`23</path>` or `23<TCP:[a->b]>`). */
  args: string;
  result: string;
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;

/** Parses strace lines into whole calls, joining `<unfinished ...>` with its `<... resumed>`. */
export function parseTrace(text: string): TracedCall[] {
  const calls: TracedCall[] = [];
  const pending = new Map<number, { startLine: number; startedAt: number; name: string; args: string }>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const m = LINE.exec(lines[n] ?? '');
    if (!m) continue;
    const pid = Number(m[1]);
    const at = Number(m[2]);
    const rest = m[3] ?? '';
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      pending.set(pid, { startLine: n, startedAt: at, name: unfinished[1] ?? '', args: unfinished[2] ?? '' });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(.*)$/.exec(rest);
    if (resumed) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (start) calls.push({ startLine: start.startLine, endLine: n, pid, startedAt: start.startedAt, name: start.name, args: start.args + (resumed[2] ?? ''), result: resumed[3] ?? '' });
      continue;
    }
    const whole = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(rest);
    if (whole) calls.push({ startLine: n, endLine: n, pid, startedAt: at, name: whole[1] ?? '', args: whole[2] ?? '', result: whole[3] ?? '' });
  }
  return calls;
}

const ok = (c: TracedCall): boolean => /^\d+/.test(c.result) && !c.result.startsWith('-1');
/** The path -y prints for the call's first fd argument (`5</a/b>` → `/a/b`). */
export const fdPath = (c: TracedCall): string | undefined => /^\d+<([^>]*)>/.exec(c.args)?.[1];
const isRename = (c: TracedCall): boolean => c.name === 'rename' || c.name === 'renameat' || c.name === 'renameat2';
const isSync = (c: TracedCall): boolean => c.name === 'fsync' || c.name === 'fdatasync';

/** The paths a rename moved from and to (`rename("a", "b")` or `renameat(AT_FDCWD, "a", AT_FDCWD, "b"…)`). */
export function renamePaths(c: TracedCall): { from: string; to: string } | undefined {
  const quoted = [...c.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => q[1] ?? '');
  return quoted.length >= 2 ? { from: quoted[0] ?? '', to: quoted[1] ?? '' } : undefined;
}

/** The first HTTP response written to the client socket whose local port is `clientPort`, after `since`. */
export function findAcknowledgement(calls: readonly TracedCall[], clientPort: number, since: number): TracedCall | undefined {
  return calls.find(
    (c) => (c.name === 'write' || c.name === 'writev') && c.startedAt >= since && c.args.includes(`->127.0.0.1:${clientPort}]>`) && /HTTP\/1\.1 2\d\d/.test(c.args),
  );
}

export type OrderProblem = 'no-acknowledgement' | 'no-durable-write' | 'file-not-synced' | 'folder-not-synced';

/**
 * Checks that between `since` (the request was sent) and the acknowledgement, `target` was replaced
 * durably: a temp file fsynced before it was renamed over `target`, and `target`'s folder fsynced after.
 */
export function checkDurableBeforeAck(calls: readonly TracedCall[], opts: { clientPort: number; since: number; target: string; folder: string }): OrderProblem | undefined {
  const ack = findAcknowledgement(calls, opts.clientPort, opts.since);
  if (!ack) return 'no-acknowledgement';
  // Calls that completed before the acknowledgement started to be written.
  const before = calls.filter((c) => c.endLine < ack.startLine && c.startedAt >= opts.since);
  const renames = before.filter((c) => isRename(c) && ok(c) && renamePaths(c)?.to === opts.target);
  if (renames.length === 0) return 'no-durable-write';
  const rename = renames[renames.length - 1] as TracedCall;
  const temp = renamePaths(rename)?.from;
  if (!before.some((c) => isSync(c) && ok(c) && c.endLine < rename.startLine && fdPath(c) === temp)) return 'file-not-synced';
  if (!before.some((c) => isSync(c) && ok(c) && c.startLine > rename.endLine && fdPath(c) === opts.folder)) return 'folder-not-synced';
  return undefined;
}
