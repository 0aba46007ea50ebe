/** The standalone exporter's entry point: what dist/exporter/pgha-exporter.mjs runs (./exporter-standalone.ts). */
import { exporterMain } from './exporter-standalone.js';

process.exitCode = await exporterMain(process.argv, { env: process.env, stderr: process.stderr, stdout: process.stdout });
