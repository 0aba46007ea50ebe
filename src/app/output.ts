/**
 * Machine-readable output for `-o json` and `-o yaml`, shared by status and show-config.
 * YAML comes from yaml-output.ts through a dynamic import, so a command pulls in the yaml
 * package only when it prints YAML.
 */
export type DataFormat = 'json' | 'yaml';

export async function dataText(value: unknown, format: DataFormat): Promise<string> {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  return (await import('./yaml-output.js')).yamlText(value);
}
