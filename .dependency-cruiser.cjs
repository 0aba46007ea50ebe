/**
 * pgha's layering, checked by `npm run lint` (`depcruise src`). docs/architecture.md#layers explains
 * the layers; this file is the part of it a machine can check.
 *
 *   cli → app → {config, render, plan, components, patroni, platforms} → {pki, transport, secrets} → model
 *   errors.ts may be imported from anywhere and imports nothing of ours.
 *
 * An arrow may skip layers downward (cli reads config's option parsers, app opens transports);
 * it may never point up, and no file may take part in an import cycle. Inside a tier the folders
 * are siblings that do not import each other, except for the arrows named below.
 *
 * Type-only imports count (tsPreCompilationDeps): an upward `import type` still ties a lower
 * layer to a higher one's shape.
 */

/** The middle tier: the domain, each folder one concern. */
const DOMAIN = '(config|render|plan|components|patroni|platforms)';
/** The bottom tier above model: cryptographic material, remote execution, generated passwords. */
const BASE = '(pki|transport|secrets)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes load order matter and the layers meaningless; break it by moving the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'src/cli/ is commander wiring; nothing else imports it (move a shared helper down to app/ or below).',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'app-only-from-cli',
      severity: 'error',
      comment:
        'src/app/ holds the use-cases; only cli/ calls them. A lower layer that needs something of app/ gets it as a parameter, or the thing moves down.',
      from: { path: '^src/', pathNot: '^src/(app|cli)/' },
      to: { path: '^src/app/' },
    },
    {
      name: 'domain-siblings-leaf',
      severity: 'error',
      comment:
        "components/, patroni/ and platforms/ import no other domain folder: they are what the rest of the domain builds on (or, for platforms, stand beside it). One arrow is allowed: a component's health check (components/*/health.ts) reads Patroni's answers through patroni/ (its REST shapes and what they mean).",
      from: { path: '^src/(components|patroni|platforms)/' },
      to: { path: `^src/${DOMAIN}/`, pathNot: ['^src/$1/', '^src/patroni/'] },
    },
    {
      name: 'patroni-and-platforms-leaf',
      severity: 'error',
      comment: 'patroni/ and platforms/ import no component: components build on them, not the other way.',
      from: { path: '^src/(patroni|platforms)/' },
      to: { path: '^src/(components|patroni|platforms)/', pathNot: '^src/$1/' },
    },
    {
      name: 'components-read-patroni-only-in-health',
      severity: 'error',
      comment:
        'Only the health checks (and the health probe contract) of components read patroni/; rendering and planning stay free of the REST API.',
      from: { path: '^src/components/', pathNot: ['^src/components/[^/]+/health\\.ts$', '^src/components/health\\.ts$'] },
      to: { path: '^src/patroni/' },
    },
    {
      name: 'domain-siblings',
      severity: 'error',
      comment:
        'config/, render/ and plan/ may use components/ (what each component knows: its paths, settings and DCS keys), not each other, patroni/ or platforms/.',
      from: { path: '^src/(config|render|plan)/' },
      to: { path: `^src/${DOMAIN}/`, pathNot: ['^src/$1/', '^src/components/'] },
    },
    {
      name: 'base-below-domain',
      severity: 'error',
      comment: 'pki/, transport/ and secrets/ know nothing of the domain or of the use-cases.',
      from: { path: `^src/${BASE}/` },
      to: { path: `^src/(config|render|plan|components|patroni|platforms|app|cli)/` },
    },
    {
      name: 'base-siblings',
      severity: 'error',
      comment:
        'pki/, transport/ and secrets/ do not import each other, except secrets/ → pki/files.ts (the private-file helpers: 0600 writes, atomic renames) and pki/vault.ts (reading and writing them through the vault) that both kinds of secret material share.',
      from: { path: `^src/${BASE}/` },
      to: { path: `^src/${BASE}/`, pathNot: ['^src/$1/', '^src/pki/files\\.ts$', '^src/pki/vault\\.ts$'] },
    },
    {
      name: 'model-is-the-floor',
      severity: 'error',
      comment: 'src/model/ (types, defaults, merge, resolve) is pure data and functions; it imports only errors.ts.',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: ['^src/model/', '^src/errors\\.ts$'] },
    },
    {
      name: 'errors-imports-nothing',
      severity: 'error',
      comment: 'errors.ts is imported from everywhere, so it imports nothing of ours.',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'src-not-to-tests-or-tools',
      severity: 'error',
      comment: 'The shipped code does not depend on tests, the bench or the build scripts.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved is a typo or a missing package.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: 'A package src/ imports must be a dependency of its own in package.json, not one that happens to come along with another.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'src/ ships; a devDependency is not installed where pgha is (`npm ci --omit=dev`).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
