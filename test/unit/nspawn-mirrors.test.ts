import { describe, expect, it } from 'vitest';
import { mirrorSourcesList, mirrorsFromAptSources } from '../../src/platforms/nspawn/apt.js';

describe('mirrorsFromAptSources', () => {
  it('reads deb822 .sources stanzas', () => {
    const text = `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security/\nSuites: bookworm-security\nComponents: main\n`;
    expect(mirrorsFromAptSources([text])).toEqual({
      main: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });
  it('reads one-line lists, skipping file: and deb-src entries', () => {
    const text = `deb [trusted=yes] file:/srv/repo ./\ndeb-src http://src.example/debian bookworm main\ndeb http://m.example/debian bookworm main\n`;
    expect(mirrorsFromAptSources([text])).toEqual({ main: 'http://m.example/debian', security: undefined });
  });
  it('finds nothing when no source serves the suite', () => {
    expect(mirrorsFromAptSources(['deb http://m.example/debian bullseye main\n'])).toBeUndefined();
  });
  it('writes a sources.list without a security line when there is no security mirror', () => {
    expect(mirrorSourcesList({ main: 'http://m.example/debian', security: undefined })).toBe(
      'deb http://m.example/debian bookworm main\ndeb http://m.example/debian bookworm-updates main\n',
    );
  });
});
