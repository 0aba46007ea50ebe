/**
 * A restore's one write to etcd: forget the cluster's state (not its configuration), as
 * Patroni's own etcd user, through the JSON gateway of the first etcd member that answers.
 */
import { prefixRangeEnd } from '../../components/etcd/auth.js';
import { keysToForget } from '../../components/patroni/dcs-keys.js';
import { RuntimeError } from '../../errors.js';
import { onPatroniDcs } from '../patroni-dcs.js';
import type { ClusterSession } from '../session.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

/** Deletes the keys keysToForget names; returns them. Idempotent: a second run finds none. */
export async function forgetClusterState(session: ClusterSession): Promise<string[]> {
  const outcome = await onPatroniDcs(session, async (gw, prefix) => {
    const res = await gw.must('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)), keys_only: true });
    const keys = ((res.body as { kvs?: { key: string }[] }).kvs ?? []).map((kv) => unb64(kv.key));
    const forget = keysToForget(keys, prefix);
    for (const key of forget) await gw.must('/v3/kv/deleterange', { key: b64(key) });
    return forget;
  });
  if (outcome.ok) return outcome.value;
  throw new RuntimeError(`cannot reset the cluster's state in etcd:\n${outcome.errors.map((e) => `  - ${e}`).join('\n')}`, {
    hint: 'check etcd health on the etcd hosts (journalctl -u etcd), then run the restore again',
  });
}
