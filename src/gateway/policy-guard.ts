import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { RequestAuth } from '../common/auth-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { KeySuspensions } from '../keys/key-suspension.service.js';
import { PolicyWindow } from '../keys/policy-window.js';
import { policySignal } from './policy-signals.js';

/**
 * Policy isolation (issue 25 item 4; docs/security.md "Policy isolation"): one user's content-policy trouble must
 * not get a shared subscription account banned. Every request outcome whose error class is a policy signal
 * (gateway/policy-signals.ts: an HTTP refusal, a `response.failed` code, an incomplete `content_filter`) is counted
 * per key and per user in a sliding window (keys/policy-window.ts); when either reaches POLICY_SUSPEND_THRESHOLD
 * the key is suspended (keys/key-suspension.service.ts): 403 `key_suspended_policy`, audited, counted, alerted.
 * The user's count catches a user who spreads refusals over several keys: each of their keys is suspended at its
 * next refusal while the user's count stays at the threshold. Fail-open: a Redis error only loses the count.
 */
@Injectable()
export class PolicyGuard {
  private readonly logger = new Logger('policy');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly window: PolicyWindow,
    private readonly suspensions: KeySuspensions,
    private readonly metrics: MetricsService,
  ) {}

  /** One finished request: counts it when it was a policy refusal (never awaited on the request path). */
  observe(auth: RequestAuth, errorClass: string | null): void {
    const signal = policySignal(errorClass);
    if (!signal) return;
    this.metrics.safety.policyRefusals.inc({ code: signal.code });
    if (auth.kind !== 'key' || !auth.keyId) return;
    void this.count(auth.keyId, auth.userId).catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'policy refusal not counted'),
    );
  }

  private async count(keyId: string, userId: string): Promise<void> {
    const n = await this.window.record(keyId, userId);
    const threshold = this.config.POLICY_SUSPEND_THRESHOLD;
    if (threshold <= 0) return;
    const scope = n.key >= threshold ? 'key' : n.user >= threshold ? 'user' : null;
    if (!scope) return;
    await this.suspensions.suspend(keyId, scope, {
      refusals: scope === 'key' ? n.key : n.user,
      threshold,
      windowSeconds: this.config.POLICY_SUSPEND_WINDOW_SECONDS,
    });
  }
}
