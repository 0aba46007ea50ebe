/**
 * The bench's node changes (issue 14): a data node added to a running cluster the way an operator
 * adds one (config.yml, `pgha provision`, `pgha deploy`) until it streams, against the floor of a
 * plain pg_basebackup of the same leader on that host; then `pgha remove-node` under the writer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { sshOk } from '../test/e2e/harness.js';
import { patronictl, type ProxyWriter } from '../test/e2e/probes.js';
import { round, type BenchFigures } from './report.js';

export interface NodesBench {
  dir: string;
  /** The cluster's name (patronictl's configuration is named by it). */
  name: string;
  pgMajor: number;
  /** The writer through HAProxy, installed. */
  writer: ProxyWriter;
  /** pgha with these arguments; throws unless it exits 0. */
  pgha: (args: string[]) => Promise<unknown>;
  log: (s: string) => void;
}

type NodesFigures = Pick<BenchFigures, 'add_node_s' | 'basebackup_floor_s' | 'remove_node_failed_writes'>;

interface Instance {
  Name: string;
  node: number;
  location?: string;
  role: string[];
  ip_address: string;
  vars?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureNodes(b: NodesBench, ctx: Record<string, unknown>): Promise<NodesFigures> {
  const configPath = join(b.dir, 'config.yml');
  const doc = parse(readFileSync(configPath, 'utf8')) as { instances: Instance[] };
  const ipOf = (name: string) => doc.instances.find((i) => i.Name === name)!.ip_address;
  const anyData = doc.instances.find((i) => i.role.includes('primary'))!;
  const octets = doc.instances.map((i) => Number(i.ip_address.split('.')[3]));
  const subnet = anyData.ip_address.split('.').slice(0, 3).join('.');
  const name = `pg${doc.instances.filter((i) => /^pg\d+$/.test(i.Name)).length + 1}`;
  const ip = `${subnet}.${Math.max(...octets) + 1}`;
  const node = Math.max(...doc.instances.map((i) => i.node)) + 1;
  const members = () => patronictl(b.dir, ipOf(anyData.Name), b.name);
  const leader = members().find((m) => m.Role === 'Leader')!.Member;
  const leaderIp = ipOf(leader);
  const local = (host: string, sql: string) =>
    sshOk(b.dir, host, `cd /tmp && runuser -u postgres -- psql -X -At -h /var/run/postgresql -d postgres -c ${JSON.stringify(sql)}`).trim();
  const streaming = () =>
    local(leaderIp, `select count(*) from pg_stat_replication where application_name = '${name}' and state = 'streaming'`) === '1';

  // Added under the writer: its failed and lost writes are context, the time is the figure.
  await b.writer.waitWritable();
  const stopAdd = b.writer.start(`bench_add_node_${Date.now() % 100000}`);
  await sleep(2000);
  doc.instances.push({ Name: name, node, ...(anyData.location ? { location: anyData.location } : {}), role: ['replica'], ip_address: ip });
  writeFileSync(configPath, stringify(doc));
  const t0 = performance.now();
  await b.pgha(['provision', b.dir]);
  const provisionS = (performance.now() - t0) / 1000;
  await b.pgha(['deploy', b.dir]);
  const deployS = (performance.now() - t0) / 1000 - provisionS;
  for (let i = 0; !streaming(); i++) {
    if (i > 600) throw new Error(`${name} does not stream from ${leader} 5 min after deploy`);
    await sleep(500);
  }
  const addS = round((performance.now() - t0) / 1000, 2);
  await sleep(2000);
  const added = await stopAdd();
  b.log(
    `add ${name} (${ip}): ${addS} s (provision ${round(provisionS, 1)} s, deploy ${round(deployS, 1)} s); writer ${added.errors} failed, ${added.lost} lost`,
  );

  // The floor: what Patroni's replica creation has to do at least, by hand on the same host.
  const replUser = 'replicator';
  const B = `/usr/lib/postgresql/${b.pgMajor}/bin`;
  const D = '/var/lib/postgresql/floor';
  const password = readFileSync(join(b.dir, 'secrets', replUser), 'utf8').trim();
  const ms = sshOk(
    b.dir,
    ip,
    `set -e
rm -rf ${D}; install -d -o postgres -g postgres -m 700 ${D}
(umask 077; cat > ${D}/pgpass); chown postgres ${D}/pgpass
s=$(date +%s%N)
cd /tmp && runuser -u postgres -- env PGPASSFILE=${D}/pgpass ${B}/pg_basebackup -d 'host=${leaderIp} user=${replUser} sslmode=require' -D ${D}/replica -X stream -c fast
e=$(date +%s%N)
du -sm ${D}/replica | cut -f1 >&2
rm -rf ${D}
echo $(( (e - s) / 1000000 ))`,
    `${leaderIp}:5432:*:${replUser}:${password}\n`,
  );
  const floorS = Number(ms.trim().split('\n').pop()) / 1000;
  const dataMb = local(leaderIp, 'select round(sum(pg_database_size(datname)) / 1048576.0) from pg_database');
  b.log(`pg_basebackup of ${leader} on ${name}: ${floorS} s (${dataMb} MB of databases)`);

  await b.writer.waitWritable();
  const stopRemove = b.writer.start(`bench_remove_node_${Date.now() % 100000}`);
  await sleep(2000);
  const r0 = performance.now();
  await b.pgha(['remove-node', b.dir, name]);
  const removeS = round((performance.now() - r0) / 1000, 1);
  await sleep(2000);
  const removed = await stopRemove();
  b.log(`remove-node ${name}: ${removeS} s; writer ${removed.errors} failed, ${removed.lost} lost of ${removed.acked}`);

  ctx.nodes = {
    added: name,
    leader,
    add_provision_s: round(provisionS, 2),
    add_deploy_s: round(deployS, 2),
    add_failed_writes: added.errors,
    add_lost_writes: added.lost,
    add_longest_gap_ms: added.longestGapMs,
    database_mb: Number(dataMb),
    remove_node_s: removeS,
    remove_lost_writes: removed.lost,
    remove_longest_gap_ms: removed.longestGapMs,
    remove_acked: removed.acked,
    remove_last_error: removed.lastError ?? null,
  };
  return { add_node_s: addS, basebackup_floor_s: round(floorS, 2), remove_node_failed_writes: removed.errors };
}
