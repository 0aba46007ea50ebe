/**
 * pgha's few writes into Patroni's part of the DCS (a restore forgetting the cluster's state, a
 * removed node's member key), made as Patroni's own etcd user — the role confined to the
 * cluster's prefix, never root — through the first etcd member that answers.
 */
import { etcdMembers } from '../components/common.js';
import type { EtcdGateway } from '../components/etcd/auth.js';
import { dcsPrefix } from '../components/patroni/dcs-keys.js';
import { RuntimeError } from '../errors.js';
import type { ResolvedHost } from '../model/types.js';
import type { ClusterSession } from './session.js';

export type DcsOutcome<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/**
 * `act` on the first of `hosts`' etcd members (default: the cluster's) that answers, logged in as
 * Patroni's etcd user where etcd runs with RBAC; `prefix` is the cluster's key prefix. Every
 * member that failed is one line of `errors` when none succeeded.
 */
export async function onPatroniDcs<T>(
  session: ClusterSession,
  act: (gw: EtcdGateway, prefix: string) => Promise<T>,
  hosts: readonly ResolvedHost[] = session.cluster.hosts,
): Promise<DcsOutcome<T>> {
  const errors: string[] = [];
  for (const h of etcdMembers({ ...session.cluster, hosts: [...hosts] })) {
    try {
      const v = h.vars;
      const gw = session.etcd(h.name);
      if (v.etcd_authentication_mode === 'basic') {
        const user = String(v.patroni_etcd_user);
        if ((await gw.authenticate(user, session.material.secrets.get(user))) === 'denied') {
          throw new RuntimeError(`etcd refused ${user}'s password`);
        }
      }
      return { ok: true, value: await act(gw, dcsPrefix(v, session.cluster.name)) };
    } catch (e) {
      errors.push(`${h.name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { ok: false, errors };
}
