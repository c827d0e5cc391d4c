import type { RequestAuth } from '../common/auth-context.js';

/** Who did something to an account, as written in the audit log. */
export interface Actor {
  type: 'user' | 'key' | 'cli' | 'system';
  id?: string | null;
}

/** The actor of an admin request: an admin-scoped key is audited as the key (as the keys/users services do). */
export function actorOf(auth: RequestAuth | undefined): Actor {
  if (auth?.kind === 'key') return { type: 'key', id: auth.keyId };
  return { type: 'user', id: auth?.userId ?? null };
}
