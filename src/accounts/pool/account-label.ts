/**
 * Metric label of an account: its admin-chosen label unless that is an email address (the default on import, and
 * `/metrics` is unauthenticated by default), else its id (a random UUID, stable and non-identifying).
 */
export function accountLabel(a: { id: string; label: string }): string {
  return a.label && !a.label.includes('@') ? a.label : a.id;
}
