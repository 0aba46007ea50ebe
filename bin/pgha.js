#!/usr/bin/env node
// Thin launcher: the CLI is compiled by tsc into dist/ and bundled into dist/bundle/ by
// `npm run build` (run by `npm ci` through the prepare script); see scripts/build-bundle.mjs.
import { main } from '../dist/bundle/main.js';
process.exitCode = await main(process.argv);
