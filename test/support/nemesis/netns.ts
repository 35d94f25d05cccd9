// Network namespaces for partitioned agents: each agent lives in its own namespace, joined to the
// host by a veth pair on a /30 of its own; taking the host end down partitions it from the hub.
// Names carry the run id so parallel runs never collide; `remove` is safe to call twice.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

export interface AgentNetwork {
  namespace: string;
  hostLink: string;
  /** The host's address on the link: the agent reaches the hub's proxies here. */
  hostAddress: string;
  agentAddress: string;
}

/**
 * A second octet for this run's links (10.<octet>.<agent>.0/30) that no address on the host uses yet,
 * so two runs on one machine never share a subnet (they would steal each other's traffic).
 */
export async function freeSubnetOctet(random: () => number): Promise<number> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  const used = new Set([...stdout.matchAll(/inet 10\.(\d+)\./g)].map((m) => Number(m[1])));
  const free = Array.from({ length: 100 }, (_, i) => 100 + i).filter((o) => !used.has(o));
  if (free.length === 0) throw new Error('no free 10.100-199.x.x subnet for the nemesis links');
  return free[Math.floor(random() * free.length)] as number;
}

export async function createAgentNetwork(runId: string, octet: number, index: number): Promise<AgentNetwork> {
  const namespace = `epn-${runId}-${index}`;
  const hostLink = `epn${runId}${index}h`;
  const agentLink = `epn${runId}${index}a`;
  const base = `10.${octet}.${index}`;
  const net: AgentNetwork = { namespace, hostLink, hostAddress: `${base}.1`, agentAddress: `${base}.2` };
  await ip('netns', 'add', namespace);
  try {
    await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', agentLink);
    await ip('link', 'set', agentLink, 'netns', namespace);
    await ip('addr', 'add', `${net.hostAddress}/30`, 'dev', hostLink);
    await ip('link', 'set', hostLink, 'up');
    await ip('-n', namespace, 'addr', 'add', `${net.agentAddress}/30`, 'dev', agentLink);
    await ip('-n', namespace, 'link', 'set', agentLink, 'up');
    await ip('-n', namespace, 'link', 'set', 'lo', 'up');
  } catch (err) {
    await removeAgentNetwork(net);
    throw err;
  }
  return net;
}

/** Partition (down) or heal (up) the agent's only link to the hub. */
export async function setLink(net: AgentNetwork, up: boolean): Promise<void> {
  await ip('link', 'set', net.hostLink, up ? 'up' : 'down');
}

export async function removeAgentNetwork(net: AgentNetwork): Promise<void> {
  // Deleting the namespace deletes its veth end, and with it the host end.
  await ip('link', 'del', net.hostLink).catch(() => undefined);
  await ip('netns', 'del', net.namespace).catch(() => undefined);
}

