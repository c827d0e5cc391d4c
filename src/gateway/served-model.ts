import { Injectable, Logger } from '@nestjs/common';
import { isValidModelName } from '../common/model-name.js';
import type { PoolAccount } from '../accounts/account-source.js';
import { accountLabel } from '../accounts/pool/account-label.js';
import { DowngradeStore } from '../accounts/pool/downgrades.js';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * Downgrade detection (issue 25 item 6; docs/reliability.md "Served model"). The backend names the model that
 * answered in `response.model` of `response.created` and of the terminal event [source: Responses stream; the
 * fake sends it the same way]. A name that differs from the one the gateway asked for (after the gateway's own
 * aliases, models/models.catalog.ts) is a downgrade unless the alias table below says the two are one model:
 * - the same name in another case;
 * - a dated snapshot of the requested name, either way round: `gpt-5.5-2026-08-07`, `gpt-5.5-20260807`;
 * - a `-latest` pointer: `gpt-5.5-latest`.
 * Nothing else is assumed equal (a `-mini` or another version is exactly what this is meant to catch).
 */
const SNAPSHOT = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

function base(model: string): string {
  return model.toLowerCase().replace(SNAPSHOT, '');
}

/** True when `served` counts as the `requested` model (the alias table above). */
export function sameModel(requested: string, served: string): boolean {
  return base(requested) === base(served);
}

/** Counts an answer served by another model: per account (its metric label) and model pair, metric and store. */
@Injectable()
export class ServedModels {
  private readonly logger = new Logger('responses');

  constructor(
    private readonly store: DowngradeStore,
    private readonly metrics: MetricsService,
  ) {}

  /** One answer's served model (the first one the stream names); null or equal: nothing to count. */
  observe(account: PoolAccount, requested: string, served: string | null): void {
    if (!served || sameModel(requested, served)) return;
    const name = isValidModelName(served) ? served : 'invalid';
    const label = accountLabel(account);
    this.metrics.safety.downgrades.inc({ account: label, requested, served: name });
    this.logger.warn({ account: label, requested, served: name }, 'upstream served another model');
    void this.store.note(account.id, requested, name).catch(() => {});
  }
}
