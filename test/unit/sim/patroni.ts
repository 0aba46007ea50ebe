/**
 * The simulated Patroni REST API of one data node (see ./cluster.ts): bodies, status codes and
 * texts as a real Patroni 3.0.2 answered them (test/fixtures/patroni-3.0.2), and the checks it
 * makes before acting. Unsafe calls are admitted only through the member's own tunnel, as the
 * REST API allowlist does. Every call other than a GET is logged in `sim.calls`; what it changed
 * goes to `sim.log` with the hosts' changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEADER_KEY_FIX } from '../../../src/patroni/known-bugs.js';
import { certificateSerial } from '../../../src/pki/serial.js';
import type { HttpRequest, JsonResponse, Requester } from '../../../src/transport/https.js';
import type { SimCluster, SimMember } from './cluster.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/patroni-3.0.2');

/** A recorded response body of Patroni 3.0.2. */
function recorded(name: string): unknown {
  const f = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { response: { body: string } };
  try {
    return JSON.parse(f.response.body) as unknown;
  } catch {
    return f.response.body;
  }
}

const obj = (name: string) => recorded(name) as Record<string, unknown>;
const CLUSTER_LEADER = obj('get-cluster.leader');
const MEMBER_TEMPLATES = CLUSTER_LEADER.members as Record<string, unknown>[];
const PATRONI_LEADER = obj('get-patroni.leader');
const PATRONI_REPLICA = obj('get-patroni.replica');
const PATRONI_REINITIALIZING = obj('get-patroni.reinitializing');
/** The leader's WAL position in the recordings; a replica's positions are this minus its lag. */
const WAL_AT = (PATRONI_LEADER.xlog as { location: number }).location;

/** The text answers of 3.0.2 the simulation gives, each as recorded (or, for the 503s of a switchover, as api.py words them). */
export const TEXT = {
  switchedOver: (to: string) => (recorded('post-switchover.200') as string).replace('"pg2"', `"${to}"`),
  failedOver: (to: string) => (recorded('post-failover.200') as string).replace('"pg1"', `"${to}"`),
  noLeader: recorded('post-switchover.400') as string,
  leaderMismatch: recorded('post-switchover.412-leader') as string,
  noCandidate: recorded('post-switchover.412-candidate') as string,
  switchoverFailed: recorded('post-switchover.503-failed') as string,
  restarted: recorded('post-restart.200') as string,
  restartScheduled: recorded('post-restart.202') as string,
  reloadScheduled: recorded('post-reload.202') as string,
  reinitStarted: recorded('post-reinitialize.200') as string,
  reinitLeader: recorded('post-reinitialize.503') as string,
  denied: 'Access is denied',
  switchoverScheduled: recorded('post-switchover.202') as string,
  scheduledInPast: recorded('post-switchover.422') as string,
  scheduledDeleted: recorded('delete-switchover.200') as string,
  noneScheduled: recorded('delete-switchover.404') as string,
};

function json(status: number, body: unknown): JsonResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers: { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' }, body, text };
}

/** Patroni's merge of a PATCH /config: objects deep, a null deletes. */
export function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null)
      out[k] = merge(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/** PostgreSQL's parameters of context `postmaster` that the tests touch. */
export const POSTMASTER = ['max_connections', 'shared_buffers', 'max_wal_senders'];

export class SimPatroni implements Requester {
  constructor(
    private readonly sim: SimCluster,
    private readonly host: string,
    /** Opened through the member's own tunnel: inside the REST API allowlist. */
    private readonly fromMember: boolean,
  ) {}

  private memberBody(name: string, m: SimMember): Record<string, unknown> {
    // A member config.yml does not name (a test removes one) still answers, at an address of its own.
    const h = this.sim.cluster.hosts.find((x) => x.name === name) ?? { ip: '10.250.99.99' };
    const template = MEMBER_TEMPLATES.find((t) => t.role === m.role)!;
    return {
      ...template,
      // Not recorded (3.0.2 and 4.x name it so in GET /cluster): the synchronous standby.
      ...(name === this.syncStandby() ? { role: 'sync_standby' } : {}),
      name,
      host: h.ip,
      api_url: `https://${h.ip}:8008/patroni`,
      timeline: this.sim.timeline,
      ...(m.reinitializing
        ? { state: 'creating replica', lag: 'unknown' }
        : m.role === 'replica'
          ? // Not streaming yet: as recorded right after a switchover (get-cluster.after-switchover).
            this.sim.streaming(m)
            ? { lag: m.lag }
            : { state: 'stopped', lag: 'unknown' }
          : {}),
      ...(m.pending ? { pending_restart: true } : {}),
      ...(m.nofailover ? { tags: { nofailover: true } } : {}),
    };
  }

  private node(me: SimMember | undefined): Record<string, unknown> {
    const sim = this.sim;
    if (me?.reinitializing) {
      me.reinitializing--;
      return { ...PATRONI_REINITIALIZING, patroni: { version: '3.0.2', scope: sim.cluster.name, pgha_fixes: [LEADER_KEY_FIX] } };
    }
    const leads = me?.role === 'leader';
    const replication = leads
      ? [...sim.members]
          .filter(([, m]) => sim.streaming(m))
          .map(([n]) => ({ application_name: n, state: 'streaming', sync_state: 'async' }))
      : undefined;
    return {
      ...(leads ? PATRONI_LEADER : PATRONI_REPLICA),
      ...(leads
        ? { xlog: { location: WAL_AT }, replication, timeline: sim.timeline }
        : { xlog: { received_location: WAL_AT - (me?.lag ?? 0), replayed_location: WAL_AT - (me?.lag ?? 0), paused: false } }),
      server_version: me?.serverVersion,
      ...(me?.pending ? { pending_restart: true } : {}),
      ...(sim.dcsConfig.pause === true ? { pause: true } : {}),
      // pgha's own 3.0.2 build, which says it carries the leader key fix (src/patroni/known-bugs.ts).
      patroni: { version: '3.0.2', scope: sim.cluster.name, pgha_fixes: [LEADER_KEY_FIX] },
    };
  }

  request(req: HttpRequest): Promise<JsonResponse> {
    try {
      const res = this.answer(req);
      const serving = this.sim.host(this.host).rest.serving;
      return Promise.resolve(serving ? { ...res, peerCertificateSerial: certificateSerial(serving) } : res);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private answer(req: HttpRequest): JsonResponse {
    const sim = this.sim;
    const h = sim.host(this.host);
    if (!h.active.has(sim.patroniUnit())) throw new Error(`connect ECONNREFUSED ${this.host}:8008`);
    if (h.rest.refusing > 0) {
      h.rest.refusing--;
      throw Object.assign(new Error(`connect ECONNREFUSED ${this.host}:8008`), { code: 'ECONNREFUSED' });
    }
    if (h.rest.next !== undefined && h.rest.swapAfter-- <= 0) {
      h.rest.serving = h.rest.next;
      h.rest.next = undefined;
    }
    const me = sim.members.get(this.host);
    const path = req.path.split('?')[0];
    const route = `${req.method} ${path}`;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.method !== 'GET') {
      sim.calls.push(`${this.host}: ${route}${req.body !== undefined && Object.keys(body).length ? ` ${JSON.stringify(body)}` : ''}`);
      if (!this.fromMember) return json(403, TEXT.denied);
    }
    switch (route) {
      case 'GET /cluster':
        return json(200, {
          members: [...sim.members].map(([n, m]) => this.memberBody(n, m)),
          scope: sim.cluster.name,
          ...(sim.dcsConfig.pause === true ? { pause: true } : {}),
          ...(sim.scheduledSwitchover ? { scheduled_switchover: sim.scheduledSwitchover } : {}),
        });
      case 'GET /patroni':
        return json(200, this.node(me));
      case 'GET /config':
        return json(200, sim.dcsConfig);
      case 'GET /history':
        return json(200, sim.history);
      case 'GET /primary':
        return json(me?.role === 'leader' ? 200 : 503, {});
      case 'GET /health':
      case 'GET /liveness':
        return json(200, this.node(me));
      case 'PATCH /config': {
        sim.dcsConfig = merge(sim.dcsConfig, body);
        const params = ((body.postgresql as Record<string, unknown> | undefined)?.parameters ?? {}) as Record<string, unknown>;
        if (Object.keys(params).some((p) => POSTMASTER.includes(p))) for (const m of sim.members.values()) m.pending = true;
        sim.log.push(`${this.host}: PATCH /config ${JSON.stringify(body)}`);
        return json(200, sim.dcsConfig);
      }
      case 'POST /restart':
        if (!me) return json(503, 'restart failed');
        if (body.schedule !== undefined) return json(202, TEXT.restartScheduled);
        if (body.restart_pending === true && !me.pending) return json(503, 'restart conditions are not satisfied');
        sim.log.push(`${this.host}: restart PostgreSQL${sim.stillDown(this.host)}`);
        sim.restartPostgres(this.host);
        return json(200, TEXT.restarted);
      case 'POST /reload':
        sim.log.push(`${this.host}: reload`);
        return json(202, TEXT.reloadScheduled);
      case 'POST /reinitialize':
        if (me?.role !== 'replica') return json(503, TEXT.reinitLeader);
        // Patroni reports "creating replica" for a few loops, then streams again from the leader.
        me.reinitializing = 2;
        me.lag = 0;
        me.serverVersion = sim.installedServerVersion(this.host);
        sim.log.push(`${this.host}: reinitialize`);
        return json(200, TEXT.reinitStarted);
      case 'POST /switchover':
        return this.switchover(body);
      case 'DELETE /switchover':
        if (!sim.scheduledSwitchover) return json(404, TEXT.noneScheduled);
        sim.scheduledSwitchover = undefined;
        sim.log.push(`${this.host}: cancel the scheduled switchover`);
        return json(200, TEXT.scheduledDeleted);
      case 'POST /failover':
        return this.failover(body);
      default:
        throw new Error(`sim patroni: ${route} is not simulated`);
    }
  }

  /**
   * api.py's checks (a leader named; for a scheduled one its time only; else it is the leader and
   * the candidate a member that could be promoted), then the leader's HA loop, which drops the
   * request when the candidate is not healthy enough (lagging beyond maximum_lag_on_failover, or
   * not streaming): "Switchover failed".
   */
  /**
   * With synchronous_mode on in the DCS, the streaming replica first by name is the synchronous
   * standby (one, synchronous_node_count's default); undefined when the mode is off or none streams.
   */
  private syncStandby(): string | undefined {
    const sim = this.sim;
    if (sim.dcsConfig.synchronous_mode !== true) return undefined;
    return [...sim.members]
      .filter(([, m]) => m.role === 'replica' && sim.streaming(m))
      .map(([n]) => n)
      .sort()[0];
  }

  private switchover(body: Record<string, unknown>): JsonResponse {
    const sim = this.sim;
    const leader = typeof body.leader === 'string' ? body.leader : undefined;
    const candidate = typeof body.candidate === 'string' ? body.candidate : undefined;
    if (!leader) return json(400, TEXT.noLeader);
    // A scheduled one is only checked for its time; the leader and candidate are checked when it is due.
    if (typeof body.scheduled_at === 'string') {
      if (Date.parse(body.scheduled_at) <= Date.now()) return json(422, TEXT.scheduledInPast);
      if (sim.dcsConfig.pause === true) return json(400, "Can't schedule switchover in the paused state");
      sim.scheduledSwitchover = { at: body.scheduled_at, from: leader, to: candidate ?? '' };
      sim.log.push(`${this.host}: switchover ${leader} → ${candidate ?? 'any'} scheduled at ${body.scheduled_at}`);
      return json(202, TEXT.switchoverScheduled);
    }
    if (leader !== sim.leader()) return json(412, TEXT.leaderMismatch);
    const to = candidate ? sim.members.get(candidate) : undefined;
    if (!candidate || !to) return json(412, TEXT.noCandidate);
    // api.py refuses a candidate that is not the synchronous standby (text not recorded).
    if (sim.dcsConfig.synchronous_mode === true && candidate !== this.syncStandby())
      return json(412, 'candidate name does not match with sync_standby');
    if (to.nofailover || !sim.host(candidate).active.has(sim.patroniUnit()))
      return json(412, 'switchover is not possible: no good candidates have been found');
    if (!sim.streaming(to) || to.lag > sim.maxLag()) return json(503, TEXT.switchoverFailed);
    sim.log.push(`${this.host}: switchover ${leader} → ${candidate}${sim.stillDown(this.host)}`);
    sim.promote(candidate);
    return json(200, TEXT.switchedOver(candidate));
  }

  private failover(body: Record<string, unknown>): JsonResponse {
    const sim = this.sim;
    const candidate = typeof body.candidate === 'string' ? body.candidate : undefined;
    if (!candidate) return json(400, 'Failover could be performed only to a specific candidate');
    if (!sim.members.has(candidate)) return json(412, TEXT.noCandidate);
    if (sim.leader() === candidate) return json(412, 'failover is not possible: candidate is the leader');
    sim.promote(candidate);
    sim.log.push(`${this.host}: failover to ${candidate}`);
    return json(200, TEXT.failedOver(candidate));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
