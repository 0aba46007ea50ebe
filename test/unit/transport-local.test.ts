import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local.js';
import { MASK } from '../../src/transport/quote.js';
import { run, tail } from '../../src/transport/types.js';

describe('LocalTransport', () => {
  it('returns stdout, stderr and the exit code without throwing', async () => {
    const t = new LocalTransport({ host: 'ctl' });
    const r = await t.exec({ script: `echo out; echo err >&2; exit 3` });
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });

  it('feeds stdin and keeps bytes intact (multi-byte characters, no trailing newline)', async () => {
    const t = new LocalTransport();
    const text = 'ünïcødé 🐘\n'.repeat(5000) + 'end';
    const r = await t.exec({ script: 'cat', stdin: text });
    expect(r.stdout).toBe(text);
  });

  it('does not fail when the script ignores its stdin', async () => {
    const t = new LocalTransport();
    const r = await t.exec({ script: 'exit 0', stdin: 'x'.repeat(1 << 20) });
    expect(r.code).toBe(0);
  });

  it('reports a signal as 128 + its number', async () => {
    const t = new LocalTransport();
    const r = await t.exec({ script: 'kill -TERM $$' });
    expect(r.code).toBe(128 + 15);
  });

  it('counts round trips', async () => {
    const t = new LocalTransport();
    await t.exec({ script: 'true' });
    await t.exec({ script: 'false' });
    expect(t.execCount).toBe(2);
    await t.close();
  });
});

describe('run', () => {
  it('throws a RuntimeError naming host and step, with stderr masked', async () => {
    const t = new LocalTransport({ host: 'pg1' });
    const err = await run(t, { script: `echo "bad password s3cr3t!" >&2; exit 4`, secrets: ['s3cr3t!'] }, 'create etcd users').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    const e = err as RuntimeError;
    expect(e.where).toBe('pg1: create etcd users');
    expect(e.message).toContain('exit code 4');
    expect(e.message).toContain(`bad password ${MASK}`);
    expect(e.message).not.toContain('s3cr3t!');
  });

  it('quotes stdout when stderr is empty, and passes a hint on', async () => {
    const t = new LocalTransport({ host: 'pg1' });
    const e = (await run(t, { script: 'echo only-stdout; exit 1' }, 'step', 'do this').catch((x: unknown) => x)) as RuntimeError;
    expect(e.message).toContain('only-stdout');
    expect(e.hint).toBe('do this');
  });

  it('kills a command that outlives its timeout and says so', async () => {
    const t = new LocalTransport({ host: 'pg1' });
    const start = Date.now();
    const e = (await run(t, { script: 'sleep 20', timeoutSec: 1 }, 'wait for leader').catch((x: unknown) => x)) as RuntimeError;
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.message).toContain('wait for leader timed out after 1 s');
    const ok = await t.exec({ script: 'cat', stdin: 'in', timeoutSec: 5 });
    expect(ok).toEqual({ stdout: 'in', stderr: '', code: 0 });
  });

  it('returns the result on success', async () => {
    const r = await run(new LocalTransport(), { script: 'echo ok' }, 'step');
    expect(r.stdout).toBe('ok\n');
  });

  it('keeps only the tail of long output', () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const t = tail(text, 3);
    expect(t).toBe('…\nline 47\nline 48\nline 49');
  });
});
