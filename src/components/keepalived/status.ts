/** The VIP's part of `pgha status`: which proxy holds it, and keepalived's state on each. */
import type { StatusSection } from '../component.js';
import { readVipState, type VipView } from './live.js';

export type KeepalivedStatus = VipView;

export const keepalivedStatus: StatusSection<KeepalivedStatus> = {
  read: (state) => readVipState(state),
  // `VIP 10.1.2.250: on proxy1; keepalived: proxy1 active, proxy2 active`.
  lines: (entries) => {
    if (entries.length === 0) return [];
    const holders = entries.filter((e) => e.holdsVip).map((e) => e.host);
    const states = entries.map((e) => `${e.host} ${e.error ? `unreachable: ${e.error}` : e.keepalived}`);
    const where =
      holders.length === 0 ? 'held by no proxy' : holders.length === 1 ? `on ${holders[0]}` : `on ${holders.join(' AND ')} (split)`;
    return [`VIP ${entries[0]!.address}: ${where}; keepalived: ${states.join(', ')}`];
  },
};
