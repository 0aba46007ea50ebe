/** What `pgha upgrade` is asked to do, and what it answers. */
import type { Vars } from '../../model/types.js';
import type { Component, PrimaryStrategy } from './plan.js';

export interface UpgradeRequest {
  components: Component[];
  extraVars: Vars;
  primaryStrategy: PrimaryStrategy;
  /** How long an unhealthy cluster may take to become healthy before the upgrade is refused. */
  healthGraceSec: number;
  log: (line: string) => void;
  /** How long a host may take to pass its component's health check after its upgrade (default 60 s; tests shorten it). */
  gateTimeoutSec?: number;
}

export interface UpgradeResult {
  summary: string;
}
