// Where a process's resident memory is: its mappings from /proc/<pid>/smaps, and, for the node
// executable itself, which of its ELF sections (and the ICU data inside .rodata) are resident,
// page by page from /proc/<pid>/pagemap (needs root or the same user with ptrace rights; without
// them the binary is reported as one figure). Linux only; bench use only.
import { closeSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';

const PAGE = 4096;

interface Range {
  name: string;
  start: number;
  end: number;
}

/** Sections (by address, before the load bias) of an ELF64 little-endian file, plus the ICU data symbol. */
export function elfRanges(path: string): Range[] {
  const file = readFileSync(path);
  if (file.readUInt32BE(0) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) return [];
  const shoff = Number(file.readBigUInt64LE(0x28));
  const shentsize = file.readUInt16LE(0x3a);
  const shnum = file.readUInt16LE(0x3c);
  const shstrndx = file.readUInt16LE(0x3e);
  const header = (i: number): { name: number; type: number; flags: bigint; addr: number; offset: number; size: number; link: number } => {
    const o = shoff + i * shentsize;
    return {
      name: file.readUInt32LE(o),
      type: file.readUInt32LE(o + 4),
      flags: file.readBigUInt64LE(o + 8),
      addr: Number(file.readBigUInt64LE(o + 0x10)),
      offset: Number(file.readBigUInt64LE(o + 0x18)),
      size: Number(file.readBigUInt64LE(o + 0x20)),
      link: file.readUInt32LE(o + 0x28),
    };
  };
  const cstr = (at: number): string => file.toString('latin1', at, file.indexOf(0, at));
  const names = header(shstrndx);
  const ranges: Range[] = [];
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    const SHF_ALLOC = 2n;
    if ((h.flags & SHF_ALLOC) !== 0n && h.size > 0) ranges.push({ name: cstr(names.offset + h.name), start: h.addr, end: h.addr + h.size });
    const SHT_SYMTAB = 2;
    if (h.type === SHT_SYMTAB) {
      const strtab = header(h.link);
      for (let o = h.offset; o < h.offset + h.size; o += 24) {
        const size = Number(file.readBigUInt64LE(o + 16));
        if (size < 1 << 20) continue;
        const name = cstr(strtab.offset + file.readUInt32LE(o));
        if (/^icudt\d+_dat$/.test(name)) ranges.push({ name: 'ICU data', start: Number(file.readBigUInt64LE(o + 8)), end: Number(file.readBigUInt64LE(o + 8)) + size });
      }
    }
  }
  return ranges;
}

interface Mapping {
  start: number;
  end: number;
  offset: number;
  path: string;
  rss: number;
}

function mappings(pid: number): Mapping[] {
  const out: Mapping[] = [];
  let current: Mapping | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      current = { start: parseInt(head[1]!, 16), end: parseInt(head[2]!, 16), offset: parseInt(head[3]!, 16), path: head[4] ?? '', rss: 0 };
      out.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rss = Number(rss[1]) * 1024;
  }
  return out;
}

/** Resident pages in [start, end) from pagemap (bit 63), or undefined when pagemap is unreadable. */
function residentBytes(fd: number, start: number, end: number): number {
  const first = Math.floor(start / PAGE);
  const last = Math.ceil(end / PAGE);
  const buf = Buffer.alloc((last - first) * 8);
  readSync(fd, buf, 0, buf.length, first * 8);
  let pages = 0;
  for (let i = 0; i < last - first; i++) if ((buf.readBigUInt64LE(i * 8) >> 63n) & 1n) pages++;
  return pages * PAGE;
}

/** Resident bytes by kind: the node binary by section, anonymous memory, the rest by file. */
export function memoryBreakdown(pid: number, executable = process.execPath): Map<string, number> {
  const exe = realpathSync(executable);
  const maps = mappings(pid);
  const out = new Map<string, number>();
  const add = (k: string, v: number): void => void out.set(k, (out.get(k) ?? 0) + v);
  const exeMaps = maps.filter((m) => m.path === exe);
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
    // Probe once: without the rights every entry reads as zero, which would look like nothing resident.
    if (exeMaps.length > 0 && residentBytes(fd, exeMaps[0]!.start, exeMaps[0]!.end) === 0 && exeMaps[0]!.rss > 0) throw new Error('pagemap unreadable');
  } catch {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  }
  const lowest = exeMaps.find((m) => m.offset === 0);
  const ranges = fd !== undefined && lowest ? elfRanges(exe) : [];
  // The load bias: 0 for a fixed-address executable (Node's own builds), the load address for a PIE.
  const bias = lowest && ranges.length > 0 ? lowest.start - Math.floor(Math.min(...ranges.map((r) => r.start)) / PAGE) * PAGE : 0;
  const icu = ranges.find((r) => r.name === 'ICU data');
  for (const m of maps) {
    if (m.rss === 0) continue;
    if (m.path === exe && fd !== undefined && ranges.length > 0) {
      let covered = 0;
      const cut = (name: string, s: number, e: number): void => {
        const a = Math.max(s, m.start);
        const b = Math.min(e, m.end);
        if (a >= b) return;
        // Whole pages only, so that two sections sharing a page do not both count it.
        const pa = Math.ceil(a / PAGE) * PAGE;
        const pb = Math.ceil(b / PAGE) * PAGE;
        if (pa >= pb) return;
        const bytes = residentBytes(fd!, pa, pb);
        add(`node binary: ${name}`, bytes);
        covered += bytes;
      };
      for (const r of ranges) {
        if (r.name === 'ICU data') continue;
        if (icu && r.name === '.rodata') {
          cut('.rodata (without ICU)', r.start + bias, icu.start + bias);
          cut('ICU data (in .rodata)', icu.start + bias, icu.end + bias);
          cut('.rodata (without ICU)', icu.end + bias, r.end + bias);
        } else cut(r.name.startsWith('.dyn') || r.name.startsWith('.gnu') || r.name.startsWith('.rela') ? 'dynamic symbols and relocations' : r.name.startsWith('.eh') || r.name === '.gcc_except_table' ? 'unwind tables' : r.name === '.text' ? '.text (machine code, V8 builtins)' : ['.data', '.bss', '.got', '.data.rel.ro', '.init_array', '.tdata', '.dynamic', '.fini_array'].includes(r.name) ? 'writable data' : r.name, r.start + bias, r.end + bias);
      }
      if (m.rss > covered) add('node binary: other (headers, padding)', m.rss - covered);
    } else if (m.path === exe) add('node binary', m.rss);
    else if (m.path === '[heap]') add('malloc (brk heap)', m.rss);
    else if (m.path === '[stack]') add('main stack', m.rss);
    else if (m.path === '' || m.path.startsWith('[anon')) add('anonymous (V8 heap, code space, malloc arenas, thread stacks)', m.rss);
    else if (m.path.startsWith('[')) add(m.path, m.rss);
    else if (/\.so(\.|$)/.test(m.path)) add('shared libraries', m.rss);
    else add(`file: ${m.path}`, m.rss);
  }
  if (fd !== undefined) closeSync(fd);
  return out;
}
