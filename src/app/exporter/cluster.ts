/**
 * `--cluster DIR`'s edge: every data node's GET /patroni, concurrently, through the cluster's
 * own REST clients — verified with DIR/ssl/ca.crt, and with pgha's client certificate where the
 * REST API requires one (mtls) — exactly as `pgha status` reads members. Nothing secret is
 * needed or read: GET /patroni takes no password.
 */
import { dataNodes } from '../../components/common.js';
import { patroniClientFor, probeContext } from '../live/probe.js';
import type { Collection } from './answer.js';
import { clusterCollection, type MemberScrape } from './cluster-page.js';
import { scrapeMember } from './member-scrape.js';

export interface ClusterScraper {
  /** The cluster's name and its data nodes, for the start line. */
  scope: string;
  members: string[];
  collect: () => Promise<Collection>;
}

export async function clusterScraper(dir: string, timeoutSeconds: number): Promise<ClusterScraper> {
  const ctx = await probeContext(dir);
  const members = dataNodes(ctx.cluster).map((h) => ({ member: h.name, client: patroniClientFor(ctx, h) }));
  return {
    scope: ctx.cluster.name,
    members: members.map((m) => m.member),
    collect: async () => {
      const started = process.hrtime.bigint();
      const scrapes: MemberScrape[] = await Promise.all(
        members.map(async (m) => ({ member: m.member, scrape: await scrapeMember(m.client, timeoutSeconds) })),
      );
      return clusterCollection(ctx.cluster.name, scrapes, Number(process.hrtime.bigint() - started) / 1e9);
    },
  };
}
