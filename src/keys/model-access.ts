/**
 * Model allow-list of a key: exact ids or glob patterns where `*` matches any run of characters (`gpt-5*`).
 * An empty list allows every model. Matching is case-sensitive, like model ids.
 */
export function isModelAllowed(allowedModels: readonly string[], model: string): boolean {
  if (allowedModels.length === 0) return true;
  return allowedModels.some((pattern) => matchPattern(pattern, model));
}

export function matchPattern(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*');
  // Anchored glob without regex (no ReDoS): first part is a prefix, last a suffix, the middle in order.
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!value.startsWith(first)) return false;
  let pos = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const idx = value.indexOf(parts[i], pos);
    if (idx < 0) return false;
    pos = idx + parts[i].length;
  }
  return value.length - last.length >= pos && value.endsWith(last);
}
