// Reading /proc cheaply: a group lookup for an empty group asks the kernel instead of scanning,
// zombies never count, and /proc files are read whole whatever their length.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processGroupMembers, readProcFile, readProcStat, type ProcStat } from '../../../src/device-agent/runtime/process/proc.js';

test('a /proc file is read whole, short or longer than the small first read', async (t) => {
  const stat = await readProcFile(`/proc/${process.pid}/stat`);
  t.true(stat.startsWith(`${process.pid} (`));
  t.true(stat.endsWith('\n'));
  // cpuinfo is several KB on any machine with a few cores and does not change between reads.
  t.is(await readProcFile('/proc/cpuinfo'), readFileSync('/proc/cpuinfo', 'utf8'));
  t.is((await readProcStat(process.pid))?.pid, process.pid);
});

test('the members of a running group are found; once it is gone the answer comes without a /proc scan', async (t) => {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const pgid = child.pid!;
  let scans = 0;
  const countingScan = async (): Promise<ProcStat[]> => {
    scans++;
    const stat = await readProcStat(pgid);
    return stat ? [stat] : [];
  };
  t.deepEqual((await processGroupMembers(pgid, countingScan)).map((m) => m.pid), [pgid]);
  t.is(scans, 1);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-pgid, 'SIGKILL');
  await exited; // reaped by this process: the group is empty now
  t.deepEqual(await processGroupMembers(pgid, countingScan), []);
  t.is(scans, 1, 'an empty group is known from kill(2), not from reading every process');
  t.deepEqual(await processGroupMembers(pgid), [], 'the default scan agrees');
});

test('zombies are not members even though the kernel still counts them in their group', async (t) => {
  const zombie: ProcStat = { pid: 4242, state: 'Z', pgrp: 4242, cpuTicks: 0, startTime: '1' };
  const sleeper: ProcStat = { pid: 4243, state: 'S', pgrp: 4242, cpuTicks: 3, startTime: '2' };
  const stranger: ProcStat = { pid: 4244, state: 'S', pgrp: 99, cpuTicks: 0, startTime: '3' };
  const always = (): boolean => true;
  t.deepEqual(await processGroupMembers(4242, async () => [zombie, stranger], always), []);
  t.deepEqual(await processGroupMembers(4242, async () => [zombie, sleeper, stranger], always), [sleeper]);
});
