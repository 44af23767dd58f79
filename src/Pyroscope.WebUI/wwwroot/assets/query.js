// Query text: label selectors and time expressions, parsed and formatted. Pure functions.
import { formatTime } from './format.js';

const matcherRe = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

/** `{a="b", c!~"d"}` → [{name, op, value}]; throws on anything else so typos are reported. */
export function parseSelector(text) {
  const s = (text || '').trim();
  if (!s || s === '{}') return [];
  if (!s.startsWith('{') || !s.endsWith('}')) throw new Error(`label selector must look like {name="value"}: ${s}`);
  const body = s.slice(1, -1);
  const out = [];
  matcherRe.lastIndex = 0;
  let m;
  while (matcherRe.lastIndex < body.length && (m = matcherRe.exec(body))) {
    out.push({ name: m[1], op: m[2], value: m[3].replace(/\\(.)/g, '$1') });
  }
  if (matcherRe.lastIndex < body.trimEnd().length) throw new Error(`cannot parse label selector near: ${body.slice(matcherRe.lastIndex)}`);
  return out;
}

const quote = (v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
export function formatSelector(matchers) {
  return `{${matchers.map((m) => `${m.name}${m.op}${quote(m.value)}`).join(',')}}`;
}

/** `now`, `now-15m` (s, m, h, d, w), or unix seconds / ms / µs / ns by digit count → unix ms. */
export function resolveTime(text, now = Date.now()) {
  const t = String(text || '').trim();
  if (!t || t === 'now') return now;
  const rel = /^now-(\d+)([smhdw])$/.exec(t);
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[rel[2]];
  if (/^\d+$/.test(t)) {
    if (t.length <= 10) return Number(t) * 1000;
    if (t.length <= 13) return Number(t);
    if (t.length <= 16) return Math.floor(Number(t) / 1e3);
    return Math.floor(Number(t) / 1e6);
  }
  throw new Error(`invalid time "${t}": use now, now-1h or unix milliseconds`);
}

export function describeRange(from, until) {
  const presets = { 'now-15m': 'Last 15 minutes', 'now-1h': 'Last 1 hour', 'now-24h': 'Last 24 hours' };
  if (until === 'now' && presets[from]) return presets[from];
  const now = Date.now();
  return `${formatTime(resolveTime(from, now))} → ${formatTime(resolveTime(until, now))}`;
}
