import { Injectable } from '@nestjs/common';

/**
 * Whether this process is shutting down. Set first on SIGTERM, so `/readyz` answers 503 while the process still
 * serves: a load balancer that health-checks `/readyz` stops sending new requests before the listener closes
 * (`SHUTDOWN_DRAIN_DELAY_MS`), and no request is refused at the door during a rolling restart.
 */
@Injectable()
export class DrainState {
  private since: number | null = null;

  begin(now = Date.now()): void {
    this.since ??= now;
  }

  get draining(): boolean {
    return this.since !== null;
  }
}
