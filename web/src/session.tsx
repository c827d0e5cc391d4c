import { createContext, useContext } from 'react';
import type { Schemas } from './api/client';

export type UiContext = Schemas['UiContextDto'];

/** The signed-in user and what they may do; provided by the app shell (App.tsx), read by the pages. */
export const SessionContext = createContext<UiContext | null>(null);

/** The signed-in user and what they may do (inside the shell only). */
export function useSession(): UiContext {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}
