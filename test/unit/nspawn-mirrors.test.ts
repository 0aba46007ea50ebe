import { describe, expect, it } from 'vitest';
import { mirrorSourcesList, mirrorsFromAptSources } from '../../src/platforms/nspawn/apt.js';

describe('mirrorsFromAptSources', () => {
  it('reads deb822 .sources stanzas', () => {
    const text = `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security/\nSuites: bookworm-security\nComponents: main\n`;
    expect(mirrorsFromAptSources([text], 'bookworm')).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });
  it('reads one-line lists, skipping file: and deb-src entries', () => {
    const text = `deb [trusted=yes] file:/srv/repo ./\ndeb-src http://src.example/debian bookworm main\ndeb http://m.example/debian bookworm main\n`;
    expect(mirrorsFromAptSources([text], 'bookworm')).toEqual({ main: 'http://m.example/debian', security: undefined });
  });
  it('finds nothing when no source serves the suite', () => {
    expect(mirrorsFromAptSources(['deb http://m.example/debian bullseye main\n'], 'bookworm', ['bookworm', 'trixie'])).toBeUndefined();
  });
  it('writes a sources.list without a security line when there is no security mirror', () => {
    expect(mirrorSourcesList({ main: 'http://m.example/debian', security: undefined }, 'bookworm')).toBe(
      'deb http://m.example/debian bookworm main\ndeb http://m.example/debian bookworm-updates main\n',
    );
  });
  it('takes the mirror of another Debian release when no list names the wanted one (a mirror serves them all)', () => {
    const text = `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n`;
    const found = mirrorsFromAptSources([text], 'trixie', ['bookworm', 'trixie']);
    expect(found).toEqual({ main: 'http://mirror.example/debian', security: 'http://mirror.example/debian-security' });
    expect(mirrorSourcesList(found!, 'trixie')).toBe(
      'deb http://mirror.example/debian trixie main\ndeb http://mirror.example/debian trixie-updates main\ndeb http://mirror.example/debian-security trixie-security main\n',
    );
  });
  it('prefers a list naming the wanted release itself', () => {
    const text = 'deb http://a.example/debian bookworm main\ndeb http://b.example/debian trixie main\n';
    expect(mirrorsFromAptSources([text], 'trixie', ['bookworm', 'trixie'])?.main).toBe('http://b.example/debian');
  });
});
