/**
 * A restore's one write to etcd: forget the cluster's state (not its configuration), as
 * Patroni's own etcd user, through the JSON gateway of the first etcd member that answers.
 */
import { etcdMembers } from '../../components/common.js';
import { prefixRangeEnd } from '../../components/etcd/auth.js';
import { dcsPrefix, keysToForget } from '../../components/patroni/dcs-keys.js';
import { RuntimeError } from '../../errors.js';
import type { ClusterSession } from '../session.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

/** Deletes the keys keysToForget names; returns them. Idempotent: a second run finds none. */
export async function forgetClusterState(session: ClusterSession): Promise<string[]> {
  const errors: string[] = [];
  for (const h of etcdMembers(session.cluster)) {
    try {
      const v = h.vars;
      const gw = session.etcd(h.name);
      if (v.etcd_authentication_mode === 'basic') {
        const user = String(v.patroni_etcd_user);
        if ((await gw.authenticate(user, session.material.secrets.get(user))) === 'denied') {
          throw new RuntimeError(`etcd refused ${user}'s password`);
        }
      }
      const prefix = dcsPrefix(v, session.cluster.name);
      const res = await gw.must('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)), keys_only: true });
      const keys = ((res.body as { kvs?: { key: string }[] }).kvs ?? []).map((kv) => unb64(kv.key));
      const forget = keysToForget(keys, prefix);
      for (const key of forget) await gw.must('/v3/kv/deleterange', { key: b64(key) });
      return forget;
    } catch (e) {
      errors.push(`${h.name}: ${(e as Error).message}`);
    }
  }
  throw new RuntimeError(`cannot reset the cluster's state in etcd:\n${errors.map((e) => `  - ${e}`).join('\n')}`, {
    hint: 'check etcd health on the etcd hosts (journalctl -u etcd), then run the restore again',
  });
}
