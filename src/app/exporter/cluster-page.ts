/**
 * `pgha exporter --cluster DIR`: one round over every data node's /patroni as one page. Pure.
 * Each member's families are merged under one declaration per name; the exporter's own
 * families are per member (`scope`, `member`), so a member that does not answer is a 0 of its own
 * rather than a failed page, and /health names every member that failed. `extra` is what a round
 * read beside Patroni (./cluster-extras.ts: etcd, HAProxy, certificates); its failures are its
 * own 0s and do not fail /health, which is about Patroni.
 */
import { exporterFamilies, type Collection, type Scrape } from './answer.js';
import { mergeFamilies, renderExposition, type MetricFamily } from './exposition.js';
import { patroniFamilies } from './patroni-metrics.js';

export interface MemberScrape {
  /** The member's name in config.yml. */
  member: string;
  scrape: Scrape;
}

export function clusterCollection(
  scope: string,
  members: readonly MemberScrape[],
  durationSeconds: number,
  extra: readonly MetricFamily[] = [],
): Collection {
  const lists = members.map(({ member, scrape }) => [
    ...(scrape.ok ? patroniFamilies(scrape.body, member) : []),
    ...exporterFamilies(scrape).map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { scope, member, ...s.labels } })) })),
  ]);
  const failed = members.filter((m) => !m.scrape.ok);
  return {
    page: renderExposition(mergeFamilies([...lists, [...extra]])),
    failure: failed.length ? failed.map((m) => `${m.member}: ${m.scrape.ok ? '' : m.scrape.reason}`).join('; ') : undefined,
    summary: {
      members: Object.fromEntries(
        members.map((m) => [m.member, m.scrape.ok ? { role: m.scrape.body.role, state: m.scrape.body.state } : {}]),
      ),
    },
    durationSeconds,
  };
}
