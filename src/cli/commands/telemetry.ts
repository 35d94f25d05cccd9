import { Command } from 'commander';
import { mcuTelemetrySchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { parseMcuAddress } from '../mcu-address.js';
import { formatReadings } from '../output/mcu-columns.js';
import { parsePositiveInt } from '../parse.js';

export function telemetryCommand(): Command {
  return new Command('telemetry')
    .description('Print the telemetry an MCU sends through its gateway')
    .argument('<gateway/mcu>', 'as listed by edgepilot get mcus -o name')
    .option('-f, --follow', 'keep printing new samples')
    .option('--tail <n>', 'recent samples to print first (at most 64)', '10')
    .option('-o, --output <format>', 'json: one JSON object per line')
    .addHelpText(
      'after',
      `
Values are in the channel's unit (hardware/PROTOCOL.md): pitch and roll in degrees,
acceleration in mg, temperature in °C.

Examples:
  edgepilot telemetry rk3588-line2-4k7qz/stm32f103-0123456789abcdef
  edgepilot telemetry rk3588-line2-4k7qz/stc89c52-c0ffee0000c52c52 -f -o json`,
    )
    .action(async (address: string, options: { follow?: boolean; tail: string; output?: string }, command: Command) => {
      const { gateway, mcu } = parseMcuAddress(address);
      if (options.output !== undefined && options.output !== 'json') throw new CliError(`unknown output format "${options.output}" (use json)`);
      const tail = options.tail === '0' ? 0 : parsePositiveInt(options.tail, '--tail');
      const query = new URLSearchParams({ tail: String(Math.min(tail, 64)), follow: String(options.follow ?? false) });
      const client = await hubClientFor(command);
      let printed = 0;
      for await (const raw of client.stream(`/v1/mcus/${gateway}/${mcu}/telemetry?${query}`)) {
        const parsed = mcuTelemetrySchema.safeParse(raw);
        if (!parsed.success) throw new CliError('hub sent a malformed telemetry sample');
        const t = parsed.data;
        printed += 1;
        print(options.output === 'json' ? JSON.stringify(t) : `${t.time}  #${t.sampleIndex ?? '-'}  ${formatReadings(t)}`);
      }
      if (printed === 0 && !options.follow) process.stderr.write(`no telemetry from ${mcu} yet\n`);
    });
}
