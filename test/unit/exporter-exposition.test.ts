/** The text format writer (src/app/exporter/exposition.ts), read back by a strict parser. */
import { describe, expect, it } from 'vitest';
import { escapeHelp, escapeLabelValue, formatValue, renderExposition, type MetricFamily } from '../../src/app/exporter/exposition.js';
import { parseExposition } from './exporter-text.js';

const gauge = (name: string, samples: MetricFamily['samples'], help = `help of ${name}`): MetricFamily => ({
  name,
  help,
  type: 'gauge',
  samples,
});

describe('renderExposition', () => {
  it('declares HELP and TYPE once before the samples of each family', () => {
    const text = renderExposition([
      gauge('a_total', [
        { labels: { x: '1' }, value: 1 },
        { labels: { x: '2' }, value: 2 },
      ]),
      gauge('b', [{ labels: {}, value: 0.5 }]),
    ]);
    expect(text).toBe(
      [
        '# HELP a_total help of a_total',
        '# TYPE a_total gauge',
        'a_total{x="1"} 1',
        'a_total{x="2"} 2',
        '# HELP b help of b',
        '# TYPE b gauge',
        'b 0.5',
        '',
      ].join('\n'),
    );
    const page = parseExposition(text);
    expect(page.samples.map((s) => s.name)).toEqual(['a_total', 'a_total', 'b']);
  });

  it('escapes label values and help so they read back unchanged', () => {
    const nasty = 'back\\slash "quoted"\nnext line, {braces}=x';
    const text = renderExposition([gauge('m', [{ labels: { v: nasty, w: '' }, value: 1 }], 'help with \\ and\nnewline "kept"')]);
    expect(text.split('\n')).toHaveLength(4);
    const page = parseExposition(text);
    expect(page.samples[0]!.labels).toEqual({ v: nasty, w: '' });
    expect(page.help.get('m')).toBe('help with \\\\ and\\nnewline "kept"');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeHelp('a"b\\c\nd')).toBe('a"b\\\\c\\nd');
  });

  it('leaves out families without samples', () => {
    expect(renderExposition([gauge('empty', []), gauge('one', [{ labels: {}, value: 1 }])])).not.toContain('empty');
    expect(renderExposition([gauge('empty', [])])).toBe('');
  });

  it('writes special values as Prometheus reads them', () => {
    expect([NaN, Infinity, -Infinity, 0, -1, 1.5, 1795325332.2504, 2 ** 40].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0',
      '-1',
      '1.5',
      '1795325332.2504',
      '1099511627776',
    ]);
  });

  it('refuses malformed names and duplicate families (a programming error, not a page Prometheus rejects)', () => {
    expect(() => renderExposition([gauge('bad-name', [{ labels: {}, value: 1 }])])).toThrow(/invalid metric name/);
    expect(() => renderExposition([gauge('m', [{ labels: { 'bad-label': 'x' }, value: 1 }])])).toThrow(/invalid label name/);
    expect(() => renderExposition([gauge('m', [{ labels: { __name: 'x' }, value: 1 }])])).toThrow(/invalid label name/);
    expect(() => renderExposition([gauge('m', []), gauge('m', [])])).toThrow(/twice/);
  });
});

describe('the strict reader itself', () => {
  it('rejects what a scraper would', () => {
    expect(() => parseExposition('x 1\n')).toThrow(/before its HELP and TYPE/);
    expect(() => parseExposition('# HELP x h\n# TYPE x gauge\nx{a="1} 1\n')).toThrow(/malformed/);
    expect(() => parseExposition('# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx 2\n')).toThrow(/outside/);
    expect(() => parseExposition('# HELP x h\n# TYPE x gauge\nx 1')).toThrow(/line feed/);
  });
});
