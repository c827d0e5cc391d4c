import { Counter, type Registry } from 'prom-client';

/**
 * Account-safety series (issue 25 items 4 and 6; docs/observability.md): content-policy refusals and the key
 * suspensions they led to, and models the backend served instead of the one asked for. Bounded labels: the policy
 * code (a fixed table), the account's metric label (accounts/pool/account-label.ts), model names the backend used.
 */
export class SafetyMetrics {
  readonly policyRefusals: Counter<string>;
  readonly keySuspensions: Counter<string>;
  readonly downgrades: Counter<string>;

  constructor(r: Registry[]) {
    this.policyRefusals = new Counter({
      name: 'cg_policy_refusals_total',
      help: 'Requests the upstream refused on content-policy grounds (the account is not cooled down), by code',
      labelNames: ['code'],
      registers: r,
    });
    this.keySuspensions = new Counter({
      name: 'cg_key_suspensions_total',
      help: 'Keys suspended after POLICY_SUSPEND_THRESHOLD content-policy refusals in the window, by what tripped it',
      labelNames: ['scope'],
      registers: r,
    });
    // Exposed at 0 from the start, so the first suspension is an increase (the alert uses increase()).
    for (const scope of ['key', 'user']) this.keySuspensions.labels({ scope }).inc(0);
    this.downgrades = new Counter({
      name: 'cg_model_downgrades_total',
      help: 'Answers whose served model (response.model) differs from the requested one beyond the alias table',
      labelNames: ['account', 'requested', 'served'],
      registers: r,
    });
  }
}
