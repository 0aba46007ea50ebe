/**
 * What deploy waits for around Patroni's own cycle: a reloaded member serving its new
 * certificate, and the leader's HA loop woken for new members' replication slots.
 */
import { PATRONI_CERT } from '../../components/paths.js';
import { patchDcsConfig } from '../../patroni/ops.js';
import { certificateSerial, sameSerial } from '../../pki/serial.js';
import { waitFor } from '../wait.js';
import type { DeployContext } from './context.js';

/** Patroni's default, used when the DCS configuration does not set one. */
export const DEFAULT_LOOP_WAIT = 10;

/**
 * A reload that changed a member's certificate is done only when its REST API serves it:
 * Patroni swaps its REST server at the HA cycle after the SIGHUP (up to loop_wait later), and
 * until then it still presents, and trusts, what it read before. Deploy must not report
 * converged earlier: the next run (rotate-certs' next phase) would meet the old server, or none
 * while the swap closes the socket.
 */
export async function waitServingNewCertificate(d: DeployContext, host: string): Promise<void> {
  if (!d.plan.hosts.get(host)?.files.changedPaths.includes(PATRONI_CERT)) return;
  const pem = d.work.get(host)?.files.find((f) => f.path === PATRONI_CERT)?.content;
  if (!pem) return;
  const want = certificateSerial(pem);
  await waitFor(async () => (sameSerial(await d.session.patroni(host).servingCertificateSerial(), want) ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: `${host}'s Patroni REST API to serve its new certificate (serial ${want})`,
    where: `${host}: patroni`,
    hint: `look at \`journalctl -u patroni@${d.clusterName}\` on ${host}`,
  });
}

/**
 * The leader creates a replica's replication slot only in its own HA loop, once the replica has
 * registered in the DCS; left alone that is up to loop_wait (10 s) later, and a replica done
 * with its basebackup sooner fails "replication slot does not exist" until then. Patroni wakes
 * its HA loop on every PATCH /config, even one that changes nothing, so once the new members
 * show in the DCS, a patch that sets loop_wait to its current value has the slots made at once.
 * Only a shortcut: if the members never show, waitAllStreaming reports why.
 */
export async function wakeLeaderForSlots(d: DeployContext, leader: string, replicas: string[]): Promise<void> {
  const registered = await waitFor(
    async () => {
      const info = await d.session.patroni(leader).cluster();
      return replicas.every((n) => info.members.some((m) => m.name === n)) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `${replicas.join(', ')} to register` },
  ).catch(() => false);
  if (!registered) return;
  const live = await d.session.patroni(leader).config();
  await patchDcsConfig(d.session.patroni(leader, { fromMember: true }), { loop_wait: live.loop_wait ?? DEFAULT_LOOP_WAIT });
}
