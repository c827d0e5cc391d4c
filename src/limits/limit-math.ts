/** Pure helpers of the limits: OpenAI's reset format and calendar periods (UTC). */

/** OpenAI's `x-ratelimit-reset-*` format: "20ms", "1s", "6m0s", "1h2m3s". */
export function formatReset(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  let s = Math.ceil(total / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** Key suffix and end (epoch ms) of the UTC day or month containing `now`. */
export function period(kind: 'day' | 'month', now = Date.now()): { id: string; endsAt: number } {
  const d = new Date(now);
  if (kind === 'day') {
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    return { id: d.toISOString().slice(0, 10), endsAt: end };
  }
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { id: d.toISOString().slice(0, 7), endsAt: end };
}
