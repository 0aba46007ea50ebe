/**
 * Rules about the monitoring host (issue 15): the alert rules prometheus_rules_settings leaves
 * must be rules Prometheus loads. Prometheus refuses a whole rules file over one bad rule and
 * keeps running the old one, so a typo would silently leave every alert stale; here it is a
 * config error instead, pointing at the setting. (PromQL itself is Prometheus's to check:
 * `promtool check rules` on the rendered file, `pgha render`, does.)
 */
import { isPlainObject } from '../../model/merge.js';
import { prometheusRules } from '../../components/monitoring/rules.js';
import { hasRole } from '../../components/common.js';
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
