import { Injectable } from '@nestjs/common';
import type { RequestAuth } from '../auth-context.js';

/**
 * Per-key limits on the API path (RPM, TPM, daily/monthly token quotas), shared by all replicas through Redis.
 * CONTRACT (used by the responses/chat/models paths):
 *   const admission = await limits.admit(auth, estimatedTokens); // throws ApiError 429 (Retry-After + x-ratelimit-*)
 *   reply.headers(admission.headers);                              // x-ratelimit-* for the client
 *   ... after the request finished ...
 *   await admission.settle(actualTotalTokens);                     // replaces the estimate with real usage
 *   await limits.usage(keyId)                                      // current counters, for /v1/me and the admin
 * This first version admits everything; the keys issue's limits work fills it in.
 */
export interface KeyUsage {
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
  tokensThisMonth: number;
}

export interface Admission {
  headers: Record<string, string>;
  settle(actualTotalTokens: number): Promise<void>;
}

@Injectable()
export class LimitsService {
  async admit(_auth: RequestAuth, _estimatedTokens: number): Promise<Admission> {
    return { headers: {}, settle: async () => {} };
  }

  async usage(_keyId: string): Promise<KeyUsage> {
    return { requestsThisMinute: 0, tokensThisMinute: 0, tokensToday: 0, tokensThisMonth: 0 };
  }
}
