/** Rules about the `*_conf_settings` maps that are written into services' own configuration files. */
import { isPlainObject } from '../../model/merge.js';
import { haproxySettingsProblems } from '../haproxy-settings.js';
import type { Rule, Segments } from './context.js';

/** Settings rendered into line-based files (haproxy.cfg, pgbouncer.ini, etcd's flags). */
export const LINE_SETTINGS = ['haproxy_conf_settings', 'pgbouncer_conf_settings', 'etcd_conf_settings'] as const;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The renderer skips haproxy settings it cannot place; say so here, at the line, instead. */
export const haproxyConfSettings: Rule = (ctx) => {
  for (const [vars, loc] of ctx.varLayers) {
    if (!isPlainObject(vars) || !Object.hasOwn(vars, 'haproxy_conf_settings')) continue;
    for (const p of haproxySettingsProblems(vars.haproxy_conf_settings)) {
      ctx.report('error', { ...loc, segments: [...loc.segments, 'haproxy_conf_settings', ...p.path] }, p.message);
    }
  }
};

/** `\n`, `\t` or `U+001B`: a control character as an operator would recognise it. */
export function describeControl(c: string): string {
  const named: Record<string, string> = { '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', '\0': 'a NUL' };
  return named[c] ?? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Every key or string value at or below `v` that holds a control character. */
export function controlCharacterPaths(v: unknown, at: Segments): { path: Segments; in: 'key' | 'value'; char: string }[] {
  const out: { path: Segments; in: 'key' | 'value'; char: string }[] = [];
  if (typeof v === 'string') {
    const m = CONTROL_CHARACTER.exec(v);
    if (m) out.push({ path: at, in: 'value', char: describeControl(m[0]) });
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => out.push(...controlCharacterPaths(x, [...at, i])));
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const m = CONTROL_CHARACTER.exec(k);
      if (m) out.push({ path: [...at, k], in: 'key', char: describeControl(m[0]) });
      else out.push(...controlCharacterPaths(x, [...at, k]));
    }
  }
  return out;
}

/**
 * These settings are written one directive per line: a newline in a key or value would start a
 * directive (or a section) of its own, e.g. `auth_type = trust` or a `listen … stats admin`.
 */
export const lineSettingsControlCharacters: Rule = (ctx) => {
  for (const [vars, loc] of ctx.varLayers) {
    if (!isPlainObject(vars)) continue;
    for (const name of LINE_SETTINGS) {
      if (!Object.hasOwn(vars, name)) continue;
      for (const p of controlCharacterPaths(vars[name], [])) {
        ctx.report(
          'error',
          { ...loc, segments: [...loc.segments, name, ...p.path] },
          `the ${p.in} contains a control character (${p.char}); ${name} is written one line per setting, where a newline would inject a directive: remove it`,
        );
      }
    }
  }
};
