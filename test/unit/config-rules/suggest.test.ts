import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from '../../../src/config/rules/suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['port', 'prot', 1],
    ['ab', 'ba', 1],
    ['ca', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('didYouMean', () => {
  it('finds the closest candidate, ignoring case, first alphabetically on a tie', () => {
    expect(didYouMean('Main', ['main', 'dc2'])).toBe('main');
    expect(didYouMean('patroni_ssl_enable', ['etcd_ssl_enabled', 'patroni_ssl_enabled'])).toBe('patroni_ssl_enabled');
    expect(didYouMean('abcd', ['abce', 'abcf'])).toBe('abce');
  });

  it('suggests nothing too far away, nor the name itself', () => {
    expect(didYouMean('main', ['main'])).toBeUndefined();
    expect(didYouMean('abc', ['xyz'])).toBeUndefined();
    // Short names allow one edit at most.
    expect(didYouMean('ab', ['xy'])).toBeUndefined();
  });
});
