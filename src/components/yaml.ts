/**
 * YAML for Patroni (PyYAML) and etcd (Go yaml.v2) — both YAML 1.1 readers, to which a bare `off`
 * or `on` is a boolean: writing as 1.1 quotes such strings so `watchdog.mode: "off"` stays a string.
 */
import { Document, Scalar, YAMLSeq } from 'yaml';
import { isPlainObject } from '../model/merge.js';

// No anchors/aliases: shared values are written out in full, as a reader of the file expects.
const OPTIONS = { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false } as const;

export function toYaml(doc: unknown): string {
  // `directives: false` skips yaml's search of the whole document for tags to declare: a
  // document built from plain values has none, so the output is the same.
  return new Document(withSharedStringLists(doc), OPTIONS).toString({ ...OPTIONS, directives: false });
}

/**
 * A list of one-line strings that remembers its YAML per place it is written at. Every data
 * node's patroni.yml lists every member (pg_hba lines, REST API allowlist), so a cluster of n
 * data nodes writes the same n-line lists n times; yaml's per-scalar work (each string tested
 * against every YAML 1.1 type so it can be quoted if needed) made that the bulk of rendering.
 * The text is yaml's own, written once; the place (indentation, flow or block) is the only
 * context it depends on: one-line strings never become block scalars, carry no comments, and
 * OPTIONS never change.
 */
class StringListNode extends YAMLSeq<Scalar<string>> {
  readonly #textByPlace = new Map<string, string>();

  constructor(strings: readonly string[]) {
    super();
    this.items = strings.map((s) => new Scalar(s));
  }

  override toString(...args: Parameters<YAMLSeq['toString']>): string {
    const ctx = args[0];
    if (!ctx) return super.toString(...args);
    const place = `${ctx.indent}\0${String(ctx.inFlow)}\0${String(ctx.implicitKey)}`;
    let text = this.#textByPlace.get(place);
    if (text === undefined) {
      text = super.toString(...args);
      this.#textByPlace.set(place, text);
    }
    return text;
  }
}

/** Recently written lists, most recent last; a few suffice, as a cluster repeats the same few lists. */
const recentLists: StringListNode[] = [];
const RECENT_LISTS_KEPT = 32;

function sharedStringList(strings: readonly string[]): StringListNode {
  // Compared item by item rather than through a joined key: no string the size of the list per use.
  const same = (node: StringListNode) => node.items.length === strings.length && node.items.every((s, i) => s.value === strings[i]);
  let node = recentLists.find(same);
  if (node === undefined) {
    node = new StringListNode(strings);
    if (recentLists.length >= RECENT_LISTS_KEPT) recentLists.shift();
    recentLists.push(node);
  }
  return node;
}

function isOneLineStringList(v: unknown[]): v is string[] {
  return v.length > 0 && v.every((x) => typeof x === 'string' && !x.includes('\n'));
}

/** `doc` with every list of one-line strings replaced by its shared node; nothing else changes. */
function withSharedStringLists(v: unknown): unknown {
  if (Array.isArray(v)) return isOneLineStringList(v) ? sharedStringList(v) : v.map(withSharedStringLists);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withSharedStringLists(x)]));
  return v;
}
