/**
 * YAML for `-o yaml`. A module of its own so that a command imports it (and yaml) only when it
 * prints YAML: in the bundle (scripts/build-bundle.mjs) a dynamic import() of a CommonJS package
 * such as yaml yields only `default`, whereas a static import of its named exports works.
 */
export { stringify as yamlText } from 'yaml';
