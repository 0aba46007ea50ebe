/**
 * Rules about the monitoring host (issue 15): PgBouncer on Debian 12 is not scraped (a warning);
 * the alert rules prometheus_rules_settings leaves
 * must be rules Prometheus loads. Prometheus refuses a whole rules file over one bad rule and
 * keeps running the old one, so a typo would silently leave every alert stale; here it is a
 * config error instead, pointing at the setting. (PromQL itself is Prometheus's to check:
 * `promtool check rules` on the rendered file, `pgha render`, does.)
 */
import { isPlainObject } from '../../model/merge.js';
import { prometheusRules } from '../../components/monitoring/rules.js';
import { hasRole } from '../../components/common.js';
import { isMonitored, releaseHasPgbouncerExporter } from '../../components/monitoring/topology.js';
import type { HostRule } from './context.js';

const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

/** What is wrong with one final rule, in words; undefined when Prometheus would load it. */
export function ruleProblem(rule: Record<string, unknown>): string | undefined {
  if (typeof rule.expr !== 'string' || rule.expr.trim() === '') return 'has no expr (a PromQL expression, as a string)';
  if (rule.for !== undefined && (typeof rule.for !== 'string' || !DURATION.test(rule.for))) {
    return `has for ${JSON.stringify(rule.for)}, not a Prometheus duration such as "30s" or "1h"`;
  }
  for (const key of ['labels', 'annotations'] as const) {
    const v = rule[key];
    if (v === undefined) continue;
    if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string')) return `has ${key} that are not a map of strings`;
  }
  return undefined;
}

export const prometheusRulesValid: HostRule = (ctx, host, i) => {
  if (!hasRole(host, 'monitoring-server')) return;
  for (const rule of prometheusRules(ctx.resolved, host)) {
    const name = String(rule.alert ?? rule.record);
    const problem = ruleProblem(rule);
    if (problem === undefined) continue;
    ctx.report(
      'error',
      ctx.blame(i, ['prometheus_rules_settings', name]),
      `alert rule ${name} ${problem}; fix it in prometheus_rules_settings.${name}, or set it to null to remove the rule`,
    );
  }
};

/**
 * PgBouncer on a Debian 12 host of a monitored cluster: deploy installs no exporter for it, since
 * bookworm's prometheus-pgbouncer-exporter (1.7) is a Python exporter that cannot speak TLS, and
 * every exporter pgha runs admits only clients with a certificate from the cluster CA. A warning,
 * so that the missing `pgbouncer` job is no surprise.
 */
export const pgbouncerNotScrapedOnDebian12: HostRule = (ctx, host, i) => {
  if (!hasRole(host, 'pgbouncer') || !isMonitored(ctx.resolved) || releaseHasPgbouncerExporter(host)) return;
  ctx.perHost(
    'warning',
    ctx.blame(i, ['os_version']),
    'pgbouncer not scraped',
    host.name,
    (hosts) =>
      `PgBouncer on ${hosts} is not scraped by Prometheus: Debian 12's prometheus-pgbouncer-exporter is another exporter (1.7, Python) without TLS; Debian 13 (os_version: 13) ships pgbouncer_exporter, which deploy then installs`,
  );
};
