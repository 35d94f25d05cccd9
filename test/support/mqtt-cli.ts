import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface ToolResult {
  code: number | null;
  /** stdout and stderr together, in arrival order (mosquitto_pub -d writes both). */
  output: string;
}

/** Runs a command-line client (mosquitto_pub, mosquitto_sub, curl) to completion, killed after `timeoutMs`. */
export async function runTool(command: string, args: string[], timeoutMs = 15_000): Promise<ToolResult> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

/** What a broker's answer to one MQTT v5 PUBLISH (QoS 1) was: accepted, refused, or no connection at all. */
export function publishOutcome(result: ToolResult): 'accepted' | 'refused' | 'not-connected' {
  if (!/received CONNACK \(0\)/.test(result.output)) return 'not-connected';
  const puback = /received PUBACK \(Mid: \d+, RC:(\d+)\)/.exec(result.output);
  if (puback?.[1] === '0' || (puback === null && result.code === 0 && !/failed/i.test(result.output))) return 'accepted';
  return 'refused';
}

/** The SUBACK reason code mosquitto_sub -d printed (0/1/2 granted, 128+ refused), or undefined without one. */
export function subackCode(result: ToolResult): number | undefined {
  const match = /Subscribed \(mid: \d+\): (\d+)/.exec(result.output);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
