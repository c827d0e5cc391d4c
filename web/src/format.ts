const nf = new Intl.NumberFormat('en');

export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : nf.format(n));

export function compact(n: number): string {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** "in 2 h 5 min" / "3 min ago" */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff) / 1000;
  const txt =
    abs >= 86400 * 2
      ? `${Math.round(abs / 86400)} days`
      : abs >= 3600
        ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`
        : abs >= 60
          ? `${Math.floor(abs / 60)} min`
          : `${Math.max(1, Math.floor(abs))} s`;
  return diff >= 0 ? `in ${txt}` : `${txt} ago`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('en-GB', {
    day: '2-digit',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** "$1,234.56"; amounts under a dollar keep 4 significant decimals ("$0.0074"); null → "no price". */
export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'no price';
  const digits = n !== 0 && Math.abs(n) < 1 ? 4 : 2;
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: 2,
    maximumFractionDigits: digits,
  }).format(n);
}
