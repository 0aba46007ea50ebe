import { describe, expect, it } from 'vitest';
import { haproxySettingsProblems } from '../../src/config/haproxy-settings.js';

describe('haproxySettingsProblems', () => {
  it('accepts every shape the renderer places: scalars, lists, nulls that negate, servers', () => {
    expect(
      haproxySettingsProblems({
        global: { log: ['127.0.0.1 local2', '127.0.0.1 local3'], 'tune.ssl.default-dh-param': 2048, 'stats timeout': null },
        defaults: { 'option tcplog': false, 'timeout client': '30m' },
        default_server: { inter: '3s', fall: 3, rise: 2, fastinter: null },
        listens: { pgha_stats: null, mine: { bind: '127.0.0.1:7000', 'stats enable': true } },
        backends: { pgha_rw: { balance: 'first', servers: { pg1: { address: '10.0.0.1:5432', check: true }, pg2: null } } },
        frontends: null,
      }),
    ).toEqual([]);
    expect(haproxySettingsProblems(null)).toEqual([]);
    expect(haproxySettingsProblems({})).toEqual([]);
  });

  it('names what the renderer would skip silently, with its path', () => {
    const p = haproxySettingsProblems({
      defaults: { timeout: { client: '30m' } },
      backend: {},
      default_server: { inter: ['3s'] },
      listens: { x: 'bind *:1' },
      backends: { pgha_rw: { servers: [] } },
    });
    expect(p.map((x) => x.path.join('.'))).toEqual([
      'defaults.timeout',
      'backend',
      'default_server.inter',
      'listens.x',
      'backends.pgha_rw.servers',
    ]);
    expect(p[0]!.message).toContain('"timeout client": "30m"');
    expect(p[1]!.message).toContain('unknown section');
    expect(p[2]!.message).toBe('must be a string, number, true/false or null');
    expect(haproxySettingsProblems('x')[0]!.path).toEqual([]);
  });
});
