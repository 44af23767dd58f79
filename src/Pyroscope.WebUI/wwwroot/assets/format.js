// Value formatting and frame colours. Pure functions, shared by the flame graph, table and timeline.

/** Unit of a profile type id `name:sample_type:sample_unit:period_type:period_unit`. */
export function unitOf(profileTypeId) {
  const parts = (profileTypeId || '').split(':');
  return parts.length >= 3 ? parts[2] : 'count';
}

const timeSteps = [[1e9 * 3600, 'h'], [1e9 * 60, 'min'], [1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];
const byteSteps = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB'], [1, 'B']];
const countSteps = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, '']];

function scaled(value, steps, space) {
  const abs = Math.abs(value);
  for (const [size, suffix] of steps) {
    if (abs >= size || size === 1) {
      const v = value / size;
      const digits = Math.abs(v) >= 100 || size === 1 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
      return v.toFixed(digits) + (suffix ? space + suffix : '');
    }
  }
  return String(value);
}

export function formatValue(value, unit) {
  switch (unit) {
    case 'nanoseconds': return scaled(value, timeSteps, ' ');
    case 'microseconds': return scaled(value * 1e3, timeSteps, ' ');
    case 'milliseconds': return scaled(value * 1e6, timeSteps, ' ');
    case 'seconds': return scaled(value * 1e9, timeSteps, ' ');
    case 'bytes': return scaled(value, byteSteps, ' ');
    default: return scaled(value, countSteps, '');
  }
}

export function formatPercent(part, whole) {
  if (!whole) return '0%';
  const p = (100 * part) / whole;
  return (p >= 10 ? p.toFixed(1) : p >= 0.01 ? p.toFixed(2) : p > 0 ? '<0.01' : '0') + '%';
}

/**
 * The "package" part of a frame name, so frames of one module share a colour:
 * Go `github.com/x/y/pkg.(*T).M` → `github.com/x/y/pkg`, Java `java/util/HashMap.get` → `java/util/HashMap`,
 * C++/Rust `a::b::f` → `a::b`, dotted `System.Text.Json.Reader.Read` → `System.Text.Json`.
 */
export function packageOf(name) {
  const cc = name.lastIndexOf('::');
  if (cc > 0) return name.slice(0, cc);
  const slash = name.lastIndexOf('/');
  if (slash >= 0) {
    const rest = name.slice(slash + 1);
    const stop = rest.search(/[.:]/);
    return name.slice(0, slash + 1 + (stop > 0 ? stop : rest.length));
  }
  const colon = name.indexOf(':');
  const head = colon > 0 ? name.slice(0, colon) : name;
  const segments = head.split('.');
  if (segments.length > 2) return segments.slice(0, -2).join('.');
  return segments[0];
}

// Warm-to-cool palette in the spirit of Pyroscope's default flame graph colours.
const palette = [
  '#e8a06a', '#d9826b', '#e6b45c', '#c9b55a', '#a8c26a', '#7fbf7f', '#6cc2b0', '#6bb3d6',
  '#8aa0e0', '#a88be0', '#c889d6', '#e08bb5', '#d4a373', '#b8c480', '#86c7a1', '#92b4c8',
];

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function colorForName(name) {
  return palette[hash(packageOf(name)) % palette.length];
}

/** Diff colour: red where the comparison spends a larger share than the baseline, green where smaller. */
export function diffColor(leftShare, rightShare) {
  let ratio;
  if (leftShare === 0 && rightShare === 0) ratio = 0;
  else if (leftShare === 0) ratio = 1;
  else ratio = Math.max(-1, Math.min(1, (rightShare - leftShare) / leftShare));
  if (Math.abs(ratio) < 0.02) return 'rgb(200,200,200)';
  const t = 0.25 + 0.75 * Math.abs(ratio);
  const [r, g, b] = ratio > 0 ? [224, 68, 62] : [62, 168, 90];
  const mix = (c) => Math.round(200 + (c - 200) * t);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

export function formatTime(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
