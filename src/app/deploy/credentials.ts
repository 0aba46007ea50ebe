/**
 * The steps of deploy that set passwords in the stores that check them, each at the point where
 * no connection can fail for it: PostgreSQL roles on the leader before Patroni reloads the new
 * password (open connections keep working; new ones use the new password once reloaded), etcd
 * users after every Patroni reloaded (see deferredEtcdStep in src/components/etcd/auth.ts).
 */
import { etcdMembers } from '../../components/common.js';
import {
  applyEtcdAuth,
  deferredEtcdStep,
  describeEtcdAuthStep,
  EtcdGateway,
  planEtcdAuth,
  readEtcdAuth,
} from '../../components/etcd/auth.js';
import type { ClusterAction } from '../../plan/cluster-plan.js';
import { setPatroniRoles } from '../role-passwords.js';
import type { DeployContext } from './context.js';
import { rolePasswordsPending } from './plan.js';

/** Re-reads which of Patroni's roles differ (the plan may be stale) and sets those; undefined when none did. */
export async function applyRolePasswords(d: DeployContext, leader: string): Promise<ClusterAction | undefined> {
  const users = await rolePasswordsPending(d, leader);
  if (!users.length) return undefined;
  await setPatroniRoles(d.session.transport(leader), d.session.host(leader).vars, (n) => d.secret(n), users);
  return { kind: 'role-passwords', users };
}

/** The etcd steps held back until Patroni reloaded: through the member the etcd phase used, else the first. */
export async function applyDeferredEtcdAuth(d: DeployContext, via: string | undefined): Promise<ClusterAction[]> {
  const spec = d.etcdAuthSpec();
  const member = via ?? etcdMembers(d.loaded.cluster)[0]?.name;
  if (!spec || !member) return [];
  const gw = new EtcdGateway(d.session.etcdHttp(member), `${member}: etcd auth`);
  const steps = planEtcdAuth(await readEtcdAuth(gw, spec), spec).filter(deferredEtcdStep);
  await applyEtcdAuth(gw, steps, spec);
  return steps.map((s): ClusterAction => ({ kind: 'etcd-auth', step: describeEtcdAuthStep(s) }));
}
