import { Command } from 'commander';
import { deviceDetailSchema, deviceReleaseViewSchema, formatReleaseRef, type DeviceDetail, type DeviceReleaseView } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { indent, renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { formatAge, formatBytes } from '../output/human.js';
import { renderTable } from '../output/table.js';
import { CliError } from '../errors.js';

function describeDevice(d: DeviceDetail): string {
  const f = d.facts;
  const status = `${d.state === 'online' ? 'Online' : d.state === 'offline' ? 'Offline' : 'Unknown'}${d.stateSince ? ` since ${d.stateSince} (${formatAge(d.stateSince)})` : ''}`;
  const entries: DescribeEntry[] = [
    ['Name', d.id],
    ['Hostname', d.hostname],
    ['Hardware ID', d.hardwareId],
    ['Labels', Object.entries(d.labels).map(([k, v]) => `${k}=${v}`)],
    ['Taints', d.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`)],
    ['Unschedulable', String(d.unschedulable)],
    ['Status', status],
    ['Agent', `${d.agentVersion ?? '<unknown>'}${d.bootId ? ` (boot ${d.bootId.slice(0, 8)})` : ''}`],
    ['Last Seen', d.lastSeen ? `${d.lastSeen} (${formatAge(d.lastSeen)} ago)` : '<never>'],
    ['Registered', `${d.registeredAt} (${formatAge(d.registeredAt)} ago)`],
  ];
  const held = d.pendingRejoin;
  if (held) {
    entries.push([
      'Pending Re-join',
      held.approved
        ? `key ${held.keyFingerprint} of ${held.hostname} approved; joins at its next attempt`
        : `${held.hostname} with key ${held.keyFingerprint} (token ${held.tokenId}, ${formatAge(held.requestedAt)} ago); run: edgepilot device approve ${d.id}`,
    ]);
  }
  if (f) {
    entries.push([
      'System',
      [
        ['Arch', f.arch],
        ['OS', `${f.os.distro} ${f.os.release} (${f.os.platform}, kernel ${f.os.kernel})`],
        ['Board', `${f.board.manufacturer} ${f.board.model}`.trim() || '<unknown>'],
        ['CPU', `${f.cpu.model} × ${f.cpu.cores} cores${f.cpu.speedMHz ? ` @ ${f.cpu.speedMHz} MHz` : ''}`],
        ['Memory', formatBytes(f.memory.totalBytes)],
        ['Disk', `${formatBytes(f.disk.totalBytes)} (${formatBytes(f.disk.freeBytes)} free)`],
        ['Temperature', f.temperatureC === null ? '<not reported>' : `${f.temperatureC} °C`],
        ['Docker', f.runtimes.docker.available ? (f.runtimes.docker.version ?? 'available') : 'not available'],
        ['Resources', Object.entries(f.resources).map(([k, v]) => `${k}: ${v}`)],
      ],
      'section',
    ]);
    entries.push(['Serial Ports', f.serialPorts.map((p) => `${p.path}${p.vendorId ? ` (${p.manufacturer ?? 'usb'} ${p.vendorId}:${p.productId ?? '?'})` : ''}`)]);
    entries.push(['MCUs', f.mcus.map((m) => `${m.id}: ${m.model}/${m.application} fw ${m.firmwareVersion} on ${m.port}${m.online ? '' : ' (offline)'}`)]);
  }
  const events =
    d.events.length === 0
      ? '  <none>'
      : indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], d.events.slice(-20).map((e) => [formatAge(e.time), e.type, e.reason, e.message])));
  return `${renderDescribe(entries)}\nEvents:\n${events}`;
}

/** Which release the device runs and its state in a rollout, under the device's details. */
function describeDeviceRelease(r: DeviceReleaseView): string {
  const rollout = r.rollout === null ? '<none>' : `${r.rollout.name} (${r.rollout.phase}): wave ${r.rollout.wave}, ${r.rollout.state}${r.rollout.reason ? ` (${r.rollout.reason})` : ''}`;
  return renderDescribe([
    ['Release', r.release === null ? "<none> (the workloads' own templates)" : formatReleaseRef(r.release)],
    ['Rollout', rollout],
  ]);
}

export function describeDeviceCommand(): Command {
  return new Command('device')
    .aliases(['devices', 'dev'])
    .description('Show a device in detail: facts, labels, status and recent events')
    .argument('<id>', 'device id (see edgepilot get devices)')
    .option('-o, --output <format>', 'json | yaml (default: human-readable)')
    .addHelpText('after', '\nExamples:\n  edgepilot describe device rk3588-line2-4k7qz\n  edgepilot describe device rk3588-line2-4k7qz -o yaml')
    .action(async (id: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const device = await client.request('GET', `/v1/devices/${encodeURIComponent(id)}`, deviceDetailSchema);
      const release = await client.request('GET', `/v1/devices/${encodeURIComponent(id)}/release`, deviceReleaseViewSchema);
      if (format === 'json' || format === 'yaml') return print(renderObject({ ...device, release }, format));
      if (format !== 'table') throw new CliError(`describe supports -o json or -o yaml, not ${format}`);
      print(describeDevice(device));
      print(describeDeviceRelease(release));
    });
}
