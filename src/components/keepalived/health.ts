/**
 * The VIP's health: exactly one proxy holds the address, its keepalived runs, and writes sent to
 * the address land on the leader (psql from a data node, the same probe as each HAProxy's).
 */
import type { CheckResult, HealthCheck } from '../health.js';
import { writesReachLeader } from '../haproxy/health.js';
import { readVipState } from './live.js';
import { vipOf } from './vip.js';

export const keepalivedHealth: HealthCheck = async (probe, hosts) => {
  const first = hosts[0];
  const vip = first && vipOf(first.vars);
  if (!first || !vip) return [];
  const views = await Promise.all(hosts.map(async (h) => readVipState(await probe.hostState(h))));
  const holders = views.filter((v) => v.holdsVip);
  const down = views.filter((v) => v.keepalived !== 'active').map((v) => `${v.host} (${v.error ?? v.keepalived})`);
  const held: CheckResult = {
    name: `VIP ${vip.address}: one holder`,
    ok: holders.length === 1 && holders[0]!.keepalived === 'active',
    detail:
      (holders.length === 0 ? 'no proxy holds it' : `held by ${holders.map((v) => v.host).join(', ')}`) +
      (down.length ? `; keepalived not running on ${down.join(', ')}` : ''),
  };
  const holder = hosts.find((h) => h.name === holders[0]?.host) ?? first;
  const { leader } = await probe.live();
  const writes = await writesReachLeader(probe, holder, leader, {
    name: `VIP ${vip.address}: writes reach the leader`,
    via: `the VIP on ${holder.name}`,
    ip: vip.address,
  });
  return [held, writes];
};
