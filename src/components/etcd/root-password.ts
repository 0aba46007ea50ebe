/**
 * etcd root's password, changed before DIR/secrets/etcd_root is: deploy logs in as root with
 * that file, so etcd must hold the new password by the time the file does. An interrupted
 * change resumes: root already logging in with the new password means it is done.
 */
import { RuntimeError } from '../../errors.js';
import type { EtcdGateway } from './auth.js';

export type RootPasswordOutcome = 'changed' | 'already' | 'auth-disabled';

export async function changeRootPassword(gw: EtcdGateway, current: string, next: string): Promise<RootPasswordOutcome> {
  const state = await gw.authenticate('root', current);
  if (state === 'denied') {
    if ((await gw.authenticate('root', next)) === 'enabled') return 'already';
    throw new RuntimeError("etcd refuses root's password in DIR/secrets/etcd_root and the staged new one", {
      hint: 'restore the secret that was used when the cluster was deployed, or reset etcd auth by hand',
    });
  }
  // Without auth there is no root login to keep; deploy adds root with the new password when it enables auth.
  if (state === 'disabled') {
    const res = await gw.post('/v3/auth/user/get', { name: 'root' });
    if (res.status !== 200) return 'auth-disabled';
  }
  await gw.must('/v3/auth/user/changepw', { name: 'root', password: next });
  return 'changed';
}
