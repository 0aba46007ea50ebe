/**
 * etcd's health: every member healthy (it has a leader and quorum), and, with auth on, the DCS
 * refuses an anonymous read while Patroni's user authenticates and reads the cluster's keys.
 */
import { firstLine, type CheckResult, type HealthCheck, type HealthProbe } from '../health.js';
import type { ResolvedHost } from '../../model/types.js';
import { leaderOf } from '../../patroni/judge.js';
import { readEtcd } from './live.js';

const TIMEOUT_MS = 3_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function authChecks(probe: HealthProbe, via: ResolvedHost | undefined, any: ResolvedHost): Promise<CheckResult[]> {
  const v = any.vars;
  const prefix = `${String(v.patroni_dcs_namespace).replace(/\/$/, '')}/${probe.cluster.name}/`;
  if (v.etcd_authentication_mode !== 'basic') {
    return [{ name: 'etcd: auth', ok: true, detail: 'not enabled (etcd_authentication_mode: none): skipped' }];
  }
  if (!via) return [{ name: 'etcd: auth', ok: false, detail: 'no etcd member reachable' }];
  const out: CheckResult[] = [];
  const http = probe.etcdHttp(via);
  const key = b64(`${prefix}leader`);
  try {
    const anon = await http.request({ method: 'POST', path: '/v3/kv/range', body: { key }, timeoutMs: TIMEOUT_MS });
    const refused = anon.status !== 200;
    out.push({
      name: 'etcd: anonymous read',
      ok: refused,
      detail: refused
        ? `refused (${String((anon.body as { message?: string }).message ?? anon.status)})`
        : 'ALLOWED: anyone can read the DCS',
    });
  } catch (e) {
    out.push({ name: 'etcd: anonymous read', ok: false, detail: firstLine(e) });
  }
  const user = String(v.patroni_etcd_user);
  const password = probe.secret(user);
  const name = `etcd: ${user} authenticates`;
  if (!password) return [...out, { name, ok: false, detail: `no DIR/secrets/${user}` }];
  try {
    const auth = await http.request({
      method: 'POST',
      path: '/v3/auth/authenticate',
      body: { name: user, password },
      timeoutMs: TIMEOUT_MS,
    });
    const token = (auth.body as { token?: string }).token;
    if (auth.status !== 200 || !token) {
      return [...out, { name, ok: false, detail: `refused: ${String((auth.body as { message?: string }).message ?? auth.status)}` }];
    }
    const read = await http.request({
      method: 'POST',
      path: '/v3/kv/range',
      body: { key },
      headers: { authorization: token },
      timeoutMs: TIMEOUT_MS,
    });
    const found = ((read.body as { kvs?: unknown[] }).kvs ?? []).length;
    const { info } = await probe.live();
    const leader = info ? leaderOf(info)?.name : undefined;
    out.push({
      name,
      ok: read.status === 200,
      detail:
        read.status === 200
          ? `and reads ${prefix}leader${found ? '' : ' (empty)'}${leader ? `; DCS leader ${leader}` : ''}`
          : `authenticated but cannot read ${prefix}: ${read.text.trim()}`,
    });
  } catch (e) {
    out.push({ name, ok: false, detail: firstLine(e) });
  }
  return out;
}

export const etcdHealthCheck: HealthCheck = async (probe, hosts) => {
  const statuses = await Promise.all(hosts.map((h) => readEtcd(probe.etcdHttp(h), h, TIMEOUT_MS)));
  const members: CheckResult[] = statuses.map((s) => ({
    name: `etcd ${s.name}: health`,
    ok: s.healthy,
    detail: !s.reachable
      ? `unreachable: ${s.error ?? ''}`
      : s.healthy
        ? `healthy${s.leader ? ' (leader)' : ''}, ${s.version ?? '?'}`
        : 'reachable but not healthy (no leader or no quorum)',
  }));
  if (!hosts.length) return members;
  return [
    ...members,
    ...(await authChecks(
      probe,
      hosts.find((_h, i) => statuses[i]!.reachable),
      hosts[0]!,
    )),
  ];
};
