// FAKE pgha-exporter.mjs (dist/exporter/, built by scripts/build-exporter.mjs)
