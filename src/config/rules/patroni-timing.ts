/** Rules about Patroni's DCS timing (ttl, loop_wait, retry_timeout). */
import { desiredDcs } from '../../components/patroni/dcs.js';
import type { ResolvedHost } from '../../model/types.js';
import { isDataNode, type HostRule, type Loc, type RuleContext, type Segments } from './context.js';

/** Patroni's own defaults, which apply to any key the settings leave out. */
export const PATRONI_DCS_TIMING_DEFAULTS = { ttl: 30, loop_wait: 10, retry_timeout: 10 } as const;

const TIMING_KEYS = ['ttl', 'loop_wait', 'retry_timeout'] as const;

/** The effective timing of `host`: its desired DCS settings over Patroni's defaults. */
export function dcsTiming(host: ResolvedHost): { ttl: number; loopWait: number; retry: number } {
  // Timing does not depend on the cluster's name (it only names the pgBackRest stanza).
  const dcs = desiredDcs(host.vars, '');
  const num = (key: keyof typeof PATRONI_DCS_TIMING_DEFAULTS): number => {
    const x = dcs[key];
    return typeof x === 'number' ? x : PATRONI_DCS_TIMING_DEFAULTS[key];
  };
  return { ttl: num('ttl'), loopWait: num('loop_wait'), retry: num('retry_timeout') };
}

/** The first timing key some layer sets, dynamic settings before bootstrap ones; else the instance. */
function timingSource(ctx: RuleContext, i: number): Loc {
  const candidates: Segments[] = [
    ...TIMING_KEYS.map((k) => ['patroni_dynamic_conf_settings', k]),
    ...TIMING_KEYS.map((k) => ['patroni_conf_settings', 'bootstrap', 'dcs', k]),
  ];
  for (const c of candidates) {
    const loc = ctx.sourceOf(i, c);
    if (loc) return loc;
  }
  return ctx.inDoc(['instances', i]);
}

/**
 * Patroni 3.0.2 accepts any timing, but with loop_wait + 2*retry_timeout > ttl the leader
 * key can expire while a healthy primary is still retrying etcd: a needless failover.
 */
export const patroniTiming: HostRule = (ctx, host, i) => {
  if (!isDataNode(host.roles)) return;
  const { ttl, loopWait, retry } = dcsTiming(host);
  const need = loopWait + 2 * retry;
  if (need <= ttl) return;
  ctx.perHost(
    'error',
    timingSource(ctx, i),
    `dcs ${ttl} ${loopWait} ${retry}`,
    host.name,
    () =>
      `loop_wait (${loopWait}) + 2 × retry_timeout (${retry}) = ${need} exceeds ttl (${ttl}): the leader key could expire while a healthy primary is still retrying etcd, causing a needless failover; raise ttl to at least ${need} or lower loop_wait/retry_timeout`,
  );
};
