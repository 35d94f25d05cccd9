import { CliError } from './errors.js';

/** `<gateway>/<mcu>`, as `get mcus -o name` prints it. */
export function parseMcuAddress(text: string): { gateway: string; mcu: string } {
  const match = /^([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,62})$/.exec(text.trim());
  if (!match?.[1] || !match[2]) throw new CliError(`"${text}" is not <gateway>/<mcu> (see edgepilot get mcus -o name)`);
  return { gateway: match[1], mcu: match[2] };
}
