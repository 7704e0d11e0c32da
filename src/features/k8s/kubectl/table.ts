// kubectl's table output: columns aligned like its tabwriter (minimum cell width 6, 3 spaces of
// padding, the last column unpadded), AGE in its short form, labels and selectors as k=v,k=v.

const MIN_WIDTH = 6;
const PADDING = 3;

/** Aligned rows under a header; every line ends with a newline. */
export function renderTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(MIN_WIDTH, ...all.map((r) => (r[i] ?? '').length + PADDING)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('')
        .concat('\n'),
    )
    .join('');
}

/** kubectl's short duration (apimachinery's HumanDuration): 5s, 3m2s, 12m, 5h3m, 2d4h, 400d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${days / 365}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

/** AGE of an object created at `timestamp` (ISO), as of `now`; kubectl's <unknown> without one. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** Labels or a matchLabels selector as kubectl prints them: keys sorted, k=v joined by commas. */
export function formatLabels(labels: Record<string, string> | undefined, empty = '<none>'): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : empty;
}
