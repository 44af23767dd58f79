// Thin client for the querier's Connect JSON API and the legacy render endpoint.

export class ApiError extends Error {
  constructor(endpoint, status, message) {
    super(`${endpoint} failed${status ? ` (HTTP ${status})` : ''}: ${message}`);
    this.endpoint = endpoint;
    this.status = status;
  }
}

let tenant = '';
export function setTenant(value) { tenant = (value || '').trim(); }

function headers(extra) {
  const h = { ...extra };
  if (tenant) h['X-Scope-OrgID'] = tenant;
  return h;
}

async function errorMessage(response) {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && body.message) return body.code ? `${body.code}: ${body.message}` : body.message;
  } catch { /* not JSON: show the text itself */ }
  return text.trim().slice(0, 500) || response.statusText || 'no response body';
}

async function send(endpoint, init) {
  let response;
  try {
    response = await fetch(endpoint, init);
  } catch (e) {
    throw new ApiError(endpoint, 0, `network error (${e.message}); is the server running?`);
  }
  if (!response.ok) throw new ApiError(endpoint, response.status, await errorMessage(response));
  return response;
}

async function connect(method, body) {
  const endpoint = `/querier.v1.QuerierService/${method}`;
  const response = await send(endpoint, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });
  return response.json();
}

// proto3 JSON writes int64 as strings; accept both.
const num = (v) => (v === undefined || v === null ? 0 : Number(v));

export async function profileTypes(start, end) {
  const r = await connect('ProfileTypes', { start, end });
  return (r.profileTypes || []).map((t) => ({ ...t, ID: t.ID || t.id }));
}

export async function labelNames(matchers, start, end) {
  const r = await connect('LabelNames', { matchers, start, end });
  return r.names || [];
}

export async function labelValues(name, matchers, start, end) {
  const r = await connect('LabelValues', { name, matchers, start, end });
  return r.names || [];
}

/** `groupBy`: label names, one series per distinct value set; `limit`: the server keeps the top N series by total. */
export async function selectSeries(profileTypeID, labelSelector, start, end, step, groupBy = [], limit = 0) {
  const r = await connect('SelectSeries', {
    profileTypeID, labelSelector, start, end, step, groupBy,
    aggregation: 'TIME_SERIES_AGGREGATION_TYPE_SUM',
    ...(limit ? { limit } : {}),
  });
  return (r.series || []).map((s) => ({
    labels: s.labels || [],
    points: (s.points || []).map((p) => ({ value: num(p.value), timestamp: num(p.timestamp) })),
  }));
}

export async function diff(left, right) {
  const r = await connect('Diff', { left, right });
  const fg = r.flamegraph || {};
  return {
    names: fg.names || [],
    levels: (fg.levels || []).map((l) => (l.values || []).map(num)),
    total: num(fg.total),
    maxSelf: num(fg.maxSelf),
    leftTicks: num(fg.leftTicks),
    rightTicks: num(fg.rightTicks),
  };
}

/**
 * SelectHeatmap of individual profiles with one exemplar (profile id) per non-empty cell. `step` in seconds
 * (fractions allowed, at least 0.001); `groupBy`: label names, one heatmap series per distinct value set.
 */
export async function selectHeatmap(profileTypeID, labelSelector, start, end, step, groupBy = []) {
  const r = await connect('SelectHeatmap', {
    profileTypeID, labelSelector, start, end, step, groupBy,
    queryType: 'HEATMAP_QUERY_TYPE_INDIVIDUAL',
    exemplarType: 'EXEMPLAR_TYPE_INDIVIDUAL',
  });
  return (r.series || []).map((s) => ({
    labels: s.labels || [],
    slots: (s.slots || []).map((slot) => ({
      timestamp: num(slot.timestamp),
      yMin: (slot.yMin || []).map(Number),
      counts: (slot.counts || []).map(Number),
      exemplars: (slot.exemplars || []).map((e) => ({
        timestamp: num(e.timestamp), profileId: e.profileId || '', value: num(e.value), labels: e.labels || [],
      })),
    })),
  }));
}

/** One flame graph of the given profiles only (profile_id_selector), as flamebearer fields. */
export async function selectMergeStacktraces(profileTypeID, labelSelector, start, end, profileIds = [], maxNodes = '') {
  const r = await connect('SelectMergeStacktraces', {
    profileTypeID, labelSelector, start, end, profileIdSelector: profileIds,
    format: 'PROFILE_FORMAT_FLAMEGRAPH',
    ...(maxNodes ? { maxNodes: Number(maxNodes) } : {}),
  });
  const fg = r.flamegraph || {};
  return {
    names: fg.names || [],
    levels: (fg.levels || []).map((l) => (l.values || []).map(num)),
    numTicks: num(fg.total),
    maxSelf: num(fg.maxSelf),
  };
}

export function renderUrl(query, from, until, maxNodes, format = 'json') {
  const p = new URLSearchParams({ query, from: String(from), until: String(until), format });
  if (maxNodes) p.set('maxNodes', String(maxNodes));
  return `/pyroscope/render?${p}`;
}

export async function render(query, from, until, maxNodes) {
  const endpoint = renderUrl(query, from, until, maxNodes);
  const response = await send(endpoint, { headers: headers({ Accept: 'application/json' }) });
  return response.json();
}

// --- pprof export: SelectMergeProfile over Connect with the binary protobuf codec, so the download is
// a real pprof no matter which render formats the server implements. The request has four scalar
// fields, small enough to encode by hand.
function varint(out, value) {
  let v = BigInt(value);
  while (v >= 0x80n) { out.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; }
  out.push(Number(v));
}
function stringField(out, field, text) {
  const bytes = new TextEncoder().encode(text);
  varint(out, (field << 3) | 2); varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}
export function encodeSelectMergeProfileRequest(profileTypeID, labelSelector, start, end, profileIds = []) {
  const out = [];
  stringField(out, 1, profileTypeID);
  stringField(out, 2, labelSelector);
  varint(out, (3 << 3) | 0); varint(out, start);
  varint(out, (4 << 3) | 0); varint(out, end);
  for (const id of profileIds) stringField(out, 7, id); // profile_id_selector
  return new Uint8Array(out);
}

/** Returns the merged profile (or only `profileIds`, when given) as gzipped pprof bytes (the usual `.pb.gz`). */
export async function selectMergeProfileGzip(profileTypeID, labelSelector, start, end, profileIds = []) {
  const endpoint = '/querier.v1.QuerierService/SelectMergeProfile';
  const response = await send(endpoint, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/proto' }),
    body: encodeSelectMergeProfileRequest(profileTypeID, labelSelector, start, end, profileIds),
  });
  const raw = new Uint8Array(await response.arrayBuffer());
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return raw;
  const gz = new Blob([raw]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}
