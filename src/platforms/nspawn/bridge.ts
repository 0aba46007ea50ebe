/**
 * The cluster's Linux bridge on this machine: created with the subnet's first address, checked
 * against this machine's routes first, and removed (with any leftover veth) on deprovision.
 */
import { writeFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { overlappingRoutes, parseCidr, parseIpRoutes, subnetAddress } from './addressing.js';
import { run, sleep, type Log } from './sys.js';

/**
 * The kernel tears down a stopped container's veth pair some seconds later; until then a new
 * container with the same machine name cannot create it ("File exists"). Wait briefly for the
 * ports of the bridge to go, then delete what is left (one end takes its peer with it).
 */
async function removeBridgePorts(bridge: string, log: Log): Promise<void> {
  const ports = async () => {
    const r = await run('ip', ['-j', 'link', 'show', 'master', bridge], { allowFail: true });
    if (r.code !== 0 || !r.stdout.trim()) return [];
    return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
  };
  for (let i = 0; i < 10 && (await ports()).length; i++) await sleep(500);
  for (const dev of await ports()) {
    log(`deleting leftover veth ${dev}`);
    await run('ip', ['link', 'del', dev], { allowFail: true });
  }
}

async function linkExists(dev: string): Promise<boolean> {
  const r = await run('ip', ['-j', 'link', 'show', 'dev', dev], { allowFail: true });
  return r.code === 0;
}

export async function assertSubnetFree(subnet: string, bridge: string): Promise<void> {
  const { stdout } = await run('ip', ['-j', '-4', 'route'], { where: 'provision: network' });
  const routes = parseIpRoutes(stdout).filter((r) => r.dst !== '127.0.0.0/8' && !r.dst.startsWith('127.'));
  const clash = overlappingRoutes(subnet, routes, bridge);
  if (clash.length) {
    throw new UsageError(
      `subnet ${subnet} overlaps ${clash.map((r) => `${r.dst}${r.dev ? ` (dev ${r.dev})` : ''}`).join(', ')} on this machine`,
      { where: 'provision: network', hint: 'choose another subnet in config.yml (pgha configure --subnet CIDR)' },
    );
  }
}

export async function ensureBridge(bridge: string, subnet: string, log: Log): Promise<string> {
  const where = `provision: bridge ${bridge}`;
  const address = `${subnetAddress(subnet, 1)}/${parseCidr(subnet).prefix}`;
  if (!(await linkExists(bridge))) {
    log(`creating bridge ${bridge} (${address})`);
    await run('ip', ['link', 'add', bridge, 'type', 'bridge'], { where });
  }
  // No IPv6 on the bridge: nothing uses it, and it keeps the link quiet.
  await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1').catch(() => {});
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', bridge], { where });
  const have = (JSON.parse(stdout || '[]') as { addr_info?: { local?: string; prefixlen?: number }[] }[])
    .flatMap((l) => l.addr_info ?? [])
    .map((a) => `${a.local}/${a.prefixlen}`);
  if (have.length !== 1 || have[0] !== address) {
    if (have.length) await run('ip', ['-4', 'addr', 'flush', 'dev', bridge], { where });
    await run('ip', ['addr', 'add', address, 'dev', bridge], { where });
  }
  await run('ip', ['link', 'set', bridge, 'up'], { where });
  return address;
}

/** Delete the bridge and whatever veth is still attached to it; nothing when it is gone already. */
export async function removeBridge(bridge: string, log: Log): Promise<void> {
  if (!(await linkExists(bridge))) return;
  await removeBridgePorts(bridge, log);
  log(`deleting bridge ${bridge}`);
  await run('ip', ['link', 'del', bridge], { where: `deprovision: bridge ${bridge}` });
}
