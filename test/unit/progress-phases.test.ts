import { describe, expect, it } from 'vitest';
import { headline, runPhases } from '../../src/app/progress.js';
import { RefusedError } from '../../src/errors.js';

describe('runPhases', () => {
  it('rethrows the phase error itself, so that the caller prints its reasons and fix once', async () => {
    const refusal = new RefusedError('refusing to deploy; nothing was changed:', ['etcd member pg2 is down'], { hint: 'start it' });
    const ran: string[] = [];
    const phases = [
      {
        title: 'gather facts',
        run: async () => {
          ran.push('facts');
          throw refusal;
        },
      },
      {
        title: 'packages',
        run: async () => {
          ran.push('packages');
        },
      },
    ];
    await expect(runPhases(phases, 'silent')).rejects.toBe(refusal);
    expect(ran).toEqual(['facts']);
  });

  it('headline keeps the first line without the colon that introduces the reasons', () => {
    expect(headline(new Error('refusing to deploy; nothing was changed:\n  - etcd member pg2 is down'))).toBe(
      'refusing to deploy; nothing was changed',
    );
    expect(headline(new Error('one line'))).toBe('one line');
    expect(headline('a string')).toBe('a string');
  });
});
