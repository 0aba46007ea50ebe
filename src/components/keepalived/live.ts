/**
 * What a proxy host says about the VIP: whether keepalived runs and whether the address is on
 * one of its interfaces. The script prints `active=<systemd state>` and `holds=yes|no`.
 */
import type { ResolvedCluster, ResolvedHost } from '../../model/types.js';
import type { HostState } from '../health.js';
import { vipOf } from './vip.js';

export const KEEPALIVED_UNIT = 'keepalived.service';

export function keepalivedStateScript(_cluster: ResolvedCluster, host: ResolvedHost): string {
  const vip = vipOf(host.vars);
  const address = vip ? vip.address : '0.0.0.0';
  return [
    `printf 'active=%s\\n' "$(systemctl is-active ${KEEPALIVED_UNIT})"`,
    `if ip -o -4 addr show to ${address}/32 | grep -q .; then echo holds=yes; else echo holds=no; fi`,
  ].join('; ');
}

export interface VipView {
  host: string;
  /** The VIP (`vip_address` without its prefix). */
  address: string;
  reachable: boolean;
  /** keepalived's unit state (`active`, `inactive`, `failed`…), `?` when unknown. */
  keepalived: string;
  holdsVip: boolean;
  error?: string;
}

export function readVipState(s: HostState): VipView {
  const part = s.parts?.get('keepalived');
  const error = s.error ?? (part ? (part.rc !== 0 ? part.text.trim().split('\n').pop() || `exit ${part.rc}` : undefined) : 'no answer');
  const field = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(part?.text ?? '')?.[1]?.trim();
  return {
    host: s.host.name,
    address: vipOf(s.host.vars)?.address ?? '?',
    reachable: s.error === undefined,
    keepalived: field('active') ?? '?',
    holdsVip: field('holds') === 'yes',
    ...(error ? { error } : {}),
  };
}
