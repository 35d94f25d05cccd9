/** Short durations like kubectl's AGE column: 45s, 12m, 3h, 5d, 2y. */
export function formatAge(sinceIso: string | undefined, now: Date = new Date()): string {
  if (!sinceIso) return '<unknown>';
  return formatDuration((now.getTime() - Date.parse(sinceIso)) / 1000);
}

export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return days < 730 ? `${days}d` : `${Math.floor(days / 365)}y`;
}

/** Binary units, as memory is sold: 3.8Gi, 512Mi. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '<unknown>';
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

export function formatLabels(labels: Record<string, string>, hidePrefix = 'edgepilot.io/'): string {
  const shown = Object.entries(labels).filter(([k]) => !k.startsWith(hidePrefix));
  return shown.length === 0 ? '<none>' : shown.map(([k, v]) => `${k}=${v}`).join(',');
}
