// Formatting of sizes, dates and physical lengths for display.

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1938955 -> "1.8 MB" (binary multiples, as file browsers show them). */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * ISO 8601 timestamp -> {day: "2026-11-23", time: "23:18"} in the browser's time zone;
 * null when the timestamp is missing or not a date.
 */
export function splitDate(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  return {
    day: `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`,
    time: `${pad(date.getHours())}:${pad(date.getMinutes())}`,
  };
}

/** A length in micrometres -> "500 µm", "2 mm", "250 nm". */
export function formatMicrons(um) {
  if (um >= 10000) return `${trim(um / 10000)} cm`;
  if (um >= 1000) return `${trim(um / 1000)} mm`;
  if (um >= 1) return `${trim(um)} µm`;
  return `${trim(um * 1000)} nm`;
}

function trim(value) {
  return String(Number(value.toPrecision(6)));
}

export function formatInteger(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '—';
}
