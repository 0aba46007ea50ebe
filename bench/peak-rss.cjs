// Preloaded with `node --require bench/peak-rss.cjs bin/pgha.js …`: at exit, writes the
// process's peak resident set size (getrusage ru_maxrss, in KiB; this process only, not its
// children) to $PGHA_BENCH_RSS_FILE.
'use strict';
const file = process.env.PGHA_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    require('node:fs').writeFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
