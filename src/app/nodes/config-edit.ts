/**
 * config.yml without one instance, edited as a YAML document so that every comment, every other
 * instance and the layout the operator wrote stay as they are.
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import { UsageError } from '../../errors.js';

export function withoutInstance(text: string, name: string, file: string): string {
  const doc = parseDocument(text);
  const instances = doc.get('instances');
  if (!isSeq(instances)) throw new UsageError(`${file}: instances: is not a list`);
  const at = instances.items.findIndex((item) => isMap(item) && item.get('Name') === name);
  if (at < 0) throw new UsageError(`${file}: instances: no instance is named ${name}`);
  instances.items.splice(at, 1);
  return doc.toString();
}

/** Lines of a known_hosts file that name neither `names` (host names or OpenSSH's `ip`/`[ip]:port`). */
export function withoutKnownHosts(text: string, matches: (pattern: string) => boolean): string {
  return text
    .split('\n')
    .filter((line) => {
      const t = line.trim();
      if (!t || t.startsWith('#')) return true;
      const fields = t.split(/\s+/);
      const hosts = fields[0]?.startsWith('@') ? fields[1] : fields[0];
      return !(hosts ?? '').split(',').some(matches);
    })
    .join('\n');
}
