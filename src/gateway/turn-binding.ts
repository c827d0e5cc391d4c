import type { PoolService } from '../accounts/pool/pool.service.js';
import type { UpstreamRequest } from './account-attempt.js';

/**
 * Codex turn states (`x-codex-turn-state`) bound to the user they were issued to (issue 22). The pool remembers
 * which account issued a turn state under the user's scope only, so a turn state another user sends (copied,
 * guessed, or made up) finds nothing: it picks no account and is not forwarded upstream. The owner's goes to the
 * account that issued it, and only there (on failover to another account it is dropped: it means nothing there).
 */
const scoped = (userId: string, turnState: string) => `${userId}\n${turnState}`;

/** The account the caller's turn state was issued by; clears the request's turn state when it is not theirs. */
export async function boundTurnAccount(
  pool: PoolService,
  userId: string,
  request: UpstreamRequest,
): Promise<string | null> {
  const account = request.turnState ? await pool.turnAccount(scoped(userId, request.turnState)) : null;
  if (!account) request.turnState = null;
  return account;
}

/** The request as it goes to `accountId`: with the turn state only for the account that issued it. */
export function forAccount(request: UpstreamRequest, accountId: string, turnAccount: string | null) {
  return request.turnState && accountId !== turnAccount ? { ...request, turnState: null } : request;
}

/** Remembers the account that issued `turnState` to this user (not awaited by the caller). */
export function stickTurn(pool: PoolService, userId: string, turnState: string, accountId: string) {
  return pool.stickTurn(scoped(userId, turnState), accountId);
}
