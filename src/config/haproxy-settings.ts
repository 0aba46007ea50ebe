/**
 * The shape of haproxy_conf_settings (see components/haproxy/config.ts): what the renderer would
 * otherwise skip without a word — a section it does not know, or a directive whose value is a
 * map (`timeout: {client: 30m}` instead of `timeout client: 30m`). Pure; the caller places each
 * problem at its line.
 */
import { isPlainObject } from '../model/merge.js';

type Segments = (string | number)[];

export interface SettingsProblem {
  /** Below haproxy_conf_settings. */
  path: Segments;
  message: string;
}

/** Sections that hold directives directly. */
const DIRECTIVE_SECTIONS = ['global', 'defaults', 'default_server'] as const;
/** Sections that hold named proxies, each a map of directives. */
const PROXY_SECTIONS = ['frontends', 'listens', 'backends'] as const;
const SECTIONS: readonly string[] = [...DIRECTIVE_SECTIONS, ...PROXY_SECTIONS];

const isScalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function directiveProblems(section: unknown, at: Segments, allowLists: boolean): SettingsProblem[] {
  if (section === null) return [];
  if (!isPlainObject(section)) return [{ path: at, message: 'must be a map of directives ("<keyword>": value), or null to remove it' }];
  const out: SettingsProblem[] = [];
  for (const [key, value] of Object.entries(section)) {
    if (isScalar(value)) continue;
    if (allowLists && Array.isArray(value) && value.every(isScalar)) continue;
    if (isPlainObject(value)) {
      const first = Object.keys(value)[0];
      out.push({
        path: [...at, key],
        message:
          `a directive's value cannot be a map: write the whole keyword as the key` +
          (first !== undefined ? `, e.g. "${key} ${first}": ${JSON.stringify(value[first])}` : '') +
          (allowLists ? '; a list repeats the directive' : ''),
      });
    } else {
      out.push({ path: [...at, key], message: `must be a string, number, true/false or null${allowLists ? ', or a list of them' : ''}` });
    }
  }
  return out;
}

export function haproxySettingsProblems(settings: unknown): SettingsProblem[] {
  if (settings === null || settings === undefined) return [];
  if (!isPlainObject(settings)) return [{ path: [], message: `must be a map with the sections ${SECTIONS.join(', ')}` }];
  const out: SettingsProblem[] = [];
  for (const [section, value] of Object.entries(settings)) {
    if (!SECTIONS.includes(section)) {
      out.push({ path: [section], message: `unknown section; haproxy_conf_settings has ${SECTIONS.join(', ')}` });
      continue;
    }
    if ((DIRECTIVE_SECTIONS as readonly string[]).includes(section)) {
      out.push(...directiveProblems(value, [section], section !== 'default_server'));
      continue;
    }
    if (value === null) continue;
    if (!isPlainObject(value)) {
      out.push({ path: [section], message: `must be a map of ${section.slice(0, -1)} names to their directives` });
      continue;
    }
    for (const [name, proxy] of Object.entries(value)) {
      if (section !== 'backends' || !isPlainObject(proxy) || !('servers' in proxy)) {
        out.push(...directiveProblems(proxy, [section, name], true));
        continue;
      }
      const { servers, ...rest } = proxy;
      out.push(...directiveProblems(rest, [section, name], true));
      if (servers === null) continue;
      if (!isPlainObject(servers)) {
        out.push({ path: [section, name, 'servers'], message: 'must be a map of server names to { address, <option>: value }' });
        continue;
      }
      for (const [server, opts] of Object.entries(servers)) {
        out.push(...directiveProblems(opts, [section, name, 'servers', server], false));
      }
    }
  }
  return out;
}
