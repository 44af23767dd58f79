// Page controller: URL state ⇄ pickers, data loading, and wiring of timeline, flame graph and table.
import * as api from './api.js';
import { FlameModel } from './flamemodel.js';
import { FlameGraph } from './flamegraph.js';
import { Timeline } from './timeline.js';
import { TopTable } from './toptable.js';
import { formatTime, formatValue, formatPercent, unitOf, escapeHtml } from './format.js';

const $ = (id) => document.getElementById(id);

// ---------- state ----------
const state = {
  view: 'single', type: '', service: '', filters: [], from: 'now-1h', until: 'now',
  leftSelector: '', rightSelector: '', leftFrom: '', leftUntil: '', rightFrom: '', rightUntil: '',
  search: '', tenant: '', maxNodes: '',
};

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

function mainSelector() {
  const ms = [];
  if (state.service) ms.push({ name: 'service_name', op: '=', value: state.service });
  return formatSelector(ms.concat(state.filters));
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.view = p.get('view') === 'diff' ? 'diff' : 'single';
  state.from = p.get('from') || 'now-1h';
  state.until = p.get('until') || 'now';
  state.search = p.get('search') || '';
  state.tenant = p.get('tenant') || localStorage.getItem('pyroscope.tenant') || '';
  state.maxNodes = /^\d+$/.test(p.get('maxNodes') || '') ? p.get('maxNodes') : '';
  const query = p.get('query') || '';
  const brace = query.indexOf('{');
  state.type = brace >= 0 ? query.slice(0, brace) : query;
  state.service = '';
  state.filters = [];
  try {
    for (const m of parseSelector(brace >= 0 ? query.slice(brace) : '')) {
      if (m.name === 'service_name' && m.op === '=' && !state.service) state.service = m.value;
      else state.filters.push(m);
    }
  } catch (e) { showError(e.message); }
  const sel = (q) => { const b = (q || '').indexOf('{'); return b >= 0 ? q.slice(b) : ''; };
  state.leftSelector = sel(p.get('leftQuery'));
  state.rightSelector = sel(p.get('rightQuery'));
  state.leftFrom = p.get('leftFrom') || ''; state.leftUntil = p.get('leftUntil') || '';
  state.rightFrom = p.get('rightFrom') || ''; state.rightUntil = p.get('rightUntil') || '';
}

function writeUrl(push) {
  const p = new URLSearchParams();
  if (state.view === 'diff') p.set('view', 'diff');
  p.set('query', `${state.type}${mainSelector()}`);
  p.set('from', state.from);
  p.set('until', state.until);
  if (state.view === 'diff') {
    p.set('leftQuery', `${state.type}${state.leftSelector || mainSelector()}`);
    p.set('rightQuery', `${state.type}${state.rightSelector || mainSelector()}`);
    for (const k of ['leftFrom', 'leftUntil', 'rightFrom', 'rightUntil']) if (state[k]) p.set(k, state[k]);
  }
  if (state.search) p.set('search', state.search);
  if (state.maxNodes) p.set('maxNodes', state.maxNodes);
  if (state.tenant) p.set('tenant', state.tenant);
  const url = `${location.pathname}?${p}`;
  if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
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

function describeRange(from, until) {
  const presets = { 'now-15m': 'Last 15 minutes', 'now-1h': 'Last 1 hour', 'now-24h': 'Last 24 hours' };
  if (until === 'now' && presets[from]) return presets[from];
  const now = Date.now();
  return `${formatTime(resolveTime(from, now))} → ${formatTime(resolveTime(until, now))}`;
}

// ---------- UI pieces ----------
let loadSeq = 0;
let currentModel = null;
let currentRender = null;
let currentUnit = 'count';
let lastRange = [0, 0];
let profileTypeList = [];
let dragSide = 'left';

const flame = new FlameGraph($('flamegraph'), { onZoom: () => updateMatchInfo() });
const table = new TopTable($('table'), {
  onSelect: (name) => {
    flame.setSelectedName(name);
    if (name) flame.zoomToName(name); else flame.reset();
    updateMatchInfo();
  },
});
const timeline = new Timeline($('timeline'), { onSelect: onTimelineSelect });

function showError(message) {
  const box = $('error');
  box.innerHTML = `<b>Error</b> ${escapeHtml(message)} <button type="button" class="dismiss" aria-label="Dismiss">×</button>`;
  box.hidden = false;
  box.querySelector('.dismiss').onclick = () => { box.hidden = true; };
}
function clearError() { $('error').hidden = true; }
function setStatus(text) { $('status').textContent = text; }

function showEmpty(html) {
  const el = $('empty');
  el.hidden = !html;
  if (html) el.innerHTML = html;
  $('results').hidden = !!html;
  document.querySelector('.timeline-panel').hidden = !!html;
  document.querySelector('.filters').hidden = !!html;
}

function ingestHelp() {
  const origin = location.origin;
  return `<h2>No profiling data in this time range yet</h2>
  <p>Point a Pyroscope SDK or Grafana Alloy at <code>${escapeHtml(origin)}</code>, or send a profile by hand:</p>
  <pre class="curl">printf 'main;handleRequest;parseJSON 120\\nmain;handleRequest;writeResponse 60\\nmain;gc 20\\n' | \\
  curl --data-binary @- '${escapeHtml(origin)}/ingest?name=my-service.cpu&amp;spyName=curl&amp;sampleRate=100'</pre>
  <p>A pprof file works too:</p>
  <pre class="curl">curl --data-binary @cpu.pb.gz -H 'Content-Type: application/octet-stream' \\
  '${escapeHtml(origin)}/ingest?name=my-service&amp;format=pprof'</pre>
  <p>Then pick a wider time range or press <b>Refresh</b>.</p>`;
}

function fillSelect(select, values, selected, labelOf = (v) => v) {
  select.innerHTML = values.map((v) => `<option value="${escapeHtml(v)}"${v === selected ? ' selected' : ''}>${escapeHtml(labelOf(v))}</option>`).join('');
}

function typeLabel(id) {
  const t = profileTypeList.find((x) => x.ID === id);
  const parts = id.split(':');
  return t && t.name ? `${t.name} · ${t.sampleType || parts[1]} (${t.sampleUnit || parts[2]})` : `${parts[0]} · ${parts[1]}`;
}

function renderChips() {
  $('filter-chips').innerHTML = state.filters.map((f, i) =>
    `<span class="chip">${escapeHtml(f.name)} ${escapeHtml(f.op)} "${escapeHtml(f.value)}" <button type="button" data-remove="${i}" aria-label="Remove filter ${escapeHtml(f.name)}">×</button></span>`).join('');
  $('query-text').textContent = `${state.type}${mainSelector()}`;
}

function syncControls() {
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.view === state.view);
  for (const b of document.querySelectorAll('.preset')) b.classList.toggle('active', state.until === 'now' && b.dataset.range === state.from);
  $('range-label').textContent = describeRange(state.from, state.until);
  $('tenant').value = state.tenant;
  $('search').value = state.search;
  if (![...$('max-nodes').options].some((o) => o.value === state.maxNodes)) $('max-nodes').add(new Option(state.maxNodes, state.maxNodes));
  $('max-nodes').value = state.maxNodes;
  $('diff-controls').hidden = state.view !== 'diff';
  document.body.classList.toggle('diff', state.view === 'diff');
  $('diff-legend').hidden = state.view !== 'diff';
  for (const el of document.querySelectorAll('.single-only')) el.hidden = state.view === 'diff';
  renderChips();
}

// ---------- loading ----------
async function load({ push = false } = {}) {
  const seq = ++loadSeq;
  clearError();
  api.setTenant(state.tenant);
  syncControls();
  let from, until;
  try {
    const now = Date.now();
    from = resolveTime(state.from, now); until = resolveTime(state.until, now);
    if (until <= from) throw new Error('the time range ends before it starts');
  } catch (e) { showError(e.message); return; }
  lastRange = [from, until];
  setStatus('Loading…');

  let types, services;
  try {
    [types, services] = await Promise.all([
      api.profileTypes(from, until),
      api.labelValues('service_name', [], from, until),
    ]);
  } catch (e) {
    if (seq === loadSeq) {
      showError(e.message);
      setStatus('');
      // Nothing below can be trusted without the type list: hide stale panels instead of showing old data.
      for (const el of [$('results'), document.querySelector('.timeline-panel')]) el.hidden = true;
    }
    return;
  }
  if (seq !== loadSeq) return;
  profileTypeList = types;
  if (!types.length) {
    fillSelect($('service'), [], ''); fillSelect($('profile-type'), [], '');
    showEmpty(ingestHelp());
    timeline.setData([], from, until, 'count');
    setStatus('');
    writeUrl(push);
    return;
  }
  showEmpty('');
  document.querySelector('.timeline-panel').hidden = false;

  if (!services.includes(state.service)) state.service = services[0] || '';
  // Types offered for this service, when the server can say (label __profile_type__); all otherwise.
  let typeIds = types.map((t) => t.ID);
  if (state.service) {
    try {
      const forService = await api.labelValues('__profile_type__', [formatSelector([{ name: 'service_name', op: '=', value: state.service }])], from, until);
      const known = forService.filter((id) => typeIds.includes(id));
      if (known.length) typeIds = known;
    } catch { /* optional capability: keep the full list */ }
    if (seq !== loadSeq) return;
  }
  if (!typeIds.includes(state.type)) state.type = typeIds.find((id) => id.startsWith('process_cpu:cpu:')) || typeIds.find((id) => id.includes(':cpu:')) || typeIds[0];
  fillSelect($('service'), services, state.service);
  fillSelect($('profile-type'), typeIds, state.type, typeLabel);
  currentUnit = unitOf(state.type);
  syncControls();
  writeUrl(push);
  refreshFilterNames(from, until);

  if (state.view === 'diff') await loadDiff(seq, from, until);
  else await loadSingle(seq, from, until);
}

function stepSeconds(from, until) {
  return Math.max(15, Math.round((until - from) / 1000 / 300));
}

function seriesPoints(series) {
  const byTs = new Map();
  for (const s of series) for (const p of s.points) byTs.set(p.timestamp, (byTs.get(p.timestamp) || 0) + p.value);
  return [...byTs].map(([timestamp, value]) => ({ timestamp, value }));
}

function timelineFromRender(r) {
  const tl = r && r.timeline;
  if (!tl || !tl.samples) return [];
  return tl.samples.map((v, i) => ({ timestamp: (Number(tl.startTime) + i * Number(tl.durationDelta)) * 1000, value: Number(v) }));
}

async function loadSingle(seq, from, until) {
  const selector = mainSelector();
  const query = `${state.type}${selector}`;
  const t0 = performance.now();
  const [seriesResult, renderResult] = await Promise.allSettled([
    api.selectSeries(state.type, selector, from, until, stepSeconds(from, until)),
    api.render(query, from, until, state.maxNodes),
  ]);
  if (seq !== loadSeq) return;
  const errors = [];
  if (renderResult.status === 'fulfilled') {
    currentRender = renderResult.value;
    const fb = currentRender.flamebearer || {};
    const model = new FlameModel(fb, false);
    showModel(model, query, describeRange(state.from, state.until));
  } else {
    errors.push(renderResult.reason.message);
    showModel(null);
  }
  if (seriesResult.status === 'fulfilled') {
    timeline.setData(seriesPoints(seriesResult.value), from, until, currentUnit);
  } else {
    const fallback = renderResult.status === 'fulfilled' ? timelineFromRender(renderResult.value) : [];
    timeline.setData(fallback, from, until, currentUnit, [], 'Timeline unavailable');
    errors.push(seriesResult.reason.message);
  }
  if (errors.length) showError(errors.join(' · '));
  setStatus(`${currentModel ? currentModel.nodeCount.toLocaleString() + ' nodes · ' : ''}loaded in ${Math.round(performance.now() - t0)} ms`);
}

function diffSides(from, until) {
  // Default comparison: first half of the range against the second half.
  const mid = Math.round((from + until) / 2);
  const now = Date.now();
  const r = (v, d) => (v ? resolveTime(v, now) : d);
  return {
    left: { selector: state.leftSelector || mainSelector(), from: r(state.leftFrom, from), until: r(state.leftUntil, mid) },
    right: { selector: state.rightSelector || mainSelector(), from: r(state.rightFrom, mid), until: r(state.rightUntil, until) },
  };
}

async function loadDiff(seq, from, until) {
  const sides = diffSides(from, until);
  $('left-selector').value = sides.left.selector;
  $('right-selector').value = sides.right.selector;
  $('left-range').textContent = `${formatTime(sides.left.from)} → ${formatTime(sides.left.until)}`;
  $('right-range').textContent = `${formatTime(sides.right.from)} → ${formatTime(sides.right.until)}`;
  const req = (s) => ({ profileTypeID: state.type, labelSelector: s.selector, start: s.from, end: s.until, ...(state.maxNodes ? { maxNodes: Number(state.maxNodes) } : {}) });
  const t0 = performance.now();
  const [seriesResult, diffResult] = await Promise.allSettled([
    api.selectSeries(state.type, mainSelector(), from, until, stepSeconds(from, until)),
    api.diff(req(sides.left), req(sides.right)),
  ]);
  if (seq !== loadSeq) return;
  const bands = [
    { from: sides.left.from, until: sides.left.until, color: 'rgba(62, 168, 90, 0.18)' },
    { from: sides.right.from, until: sides.right.until, color: 'rgba(224, 68, 62, 0.18)' },
  ];
  const errors = [];
  if (seriesResult.status === 'fulfilled') timeline.setData(seriesPoints(seriesResult.value), from, until, currentUnit, bands);
  else { timeline.setData([], from, until, currentUnit, bands, 'Timeline unavailable'); errors.push(seriesResult.reason.message); }
  if (diffResult.status === 'fulfilled') {
    currentRender = { version: 1, flamebearer: diffResult.value, metadata: { format: 'double', units: currentUnit, name: state.type } };
    showModel(new FlameModel(diffResult.value, true), `${state.type}: ${sides.left.selector} vs ${sides.right.selector}`, 'baseline vs comparison');
  } else {
    errors.push(diffResult.reason.message);
    showModel(null);
  }
  if (errors.length) showError(errors.join(' · '));
  setStatus(`${currentModel ? currentModel.nodeCount.toLocaleString() + ' nodes · ' : ''}loaded in ${Math.round(performance.now() - t0)} ms`);
}

function showModel(model, title = '', rangeText = '') {
  const empty = $('flame-empty');
  const hasData = model && model.total > 0 && model.levels.length > 1;
  currentModel = hasData ? model : null;
  if (!model) { empty.hidden = false; empty.textContent = 'The flame graph could not be loaded (see the error above).'; }
  else if (!hasData) {
    empty.hidden = false;
    empty.innerHTML = `No samples for <code>${escapeHtml(title)}</code> in ${escapeHtml(rangeText)}. Try a wider time range or fewer label filters.`;
  } else empty.hidden = true;
  $('flame-title').textContent = hasData ? `${title} · ${rangeText} · total ${formatValue(model.total, currentUnit)}` : '';
  flame.setData(currentModel, currentUnit);
  flame.setSelectedName(null);
  flame.setSearch(state.search);
  table.setData(currentModel, currentUnit);
  table.setFilter(state.search);
  updateMatchInfo();
}

function updateMatchInfo() {
  const info = $('match-info');
  if (!currentModel || (!state.search && flame.selectedName === null)) { info.textContent = ''; return; }
  const s = flame.matchStats;
  const whole = currentModel.total;
  info.textContent = `${s.count} matching frame${s.count === 1 ? '' : 's'} · ${formatPercent(s.total, whole)} of total`;
}

async function refreshFilterNames(from, until) {
  try {
    const names = await api.labelNames([mainSelector()], from, until);
    const usable = names.filter((n) => !n.startsWith('__') && n !== 'service_name' && !state.filters.some((f) => f.name === n));
    fillSelect($('filter-name'), [''].concat(usable), '', (v) => (v ? v : '+ label filter…'));
  } catch (e) { /* pickers stay usable with the selector text; report it */ showError(e.message); }
}

// ---------- events ----------
function onTimelineSelect(lo, hi) {
  if (state.view === 'diff') {
    if (dragSide === 'left') { state.leftFrom = String(lo); state.leftUntil = String(hi); }
    else { state.rightFrom = String(lo); state.rightUntil = String(hi); }
  } else {
    state.from = String(lo); state.until = String(hi);
  }
  load({ push: true });
}

document.querySelector('.views').addEventListener('click', (e) => {
  const b = e.target.closest('.tab');
  if (!b || b.dataset.view === state.view) return;
  state.view = b.dataset.view;
  load({ push: true });
});
$('service').addEventListener('change', (e) => {
  state.service = e.target.value; state.filters = []; state.leftSelector = ''; state.rightSelector = '';
  load({ push: true });
});
$('profile-type').addEventListener('change', (e) => { state.type = e.target.value; load({ push: true }); });
for (const b of document.querySelectorAll('.preset')) {
  b.addEventListener('click', () => {
    state.from = b.dataset.range; state.until = 'now';
    state.leftFrom = state.leftUntil = state.rightFrom = state.rightUntil = '';
    load({ push: true });
  });
}
const toLocalInput = (ms) => { const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3); return d.toISOString().slice(0, 19); };
$('custom-range').addEventListener('toggle', () => {
  if (!$('custom-range').open) return;
  $('custom-from').value = toLocalInput(lastRange[0]);
  $('custom-until').value = toLocalInput(lastRange[1]);
});
$('custom-apply').addEventListener('click', () => {
  const f = new Date($('custom-from').value).getTime(), u = new Date($('custom-until').value).getTime();
  if (!Number.isFinite(f) || !Number.isFinite(u) || u <= f) { showError('Custom range: "from" must be a valid time before "until".'); return; }
  state.from = String(f); state.until = String(u);
  state.leftFrom = state.leftUntil = state.rightFrom = state.rightUntil = '';
  $('custom-range').open = false;
  load({ push: true });
});
$('refresh').addEventListener('click', () => load());
$('max-nodes').addEventListener('change', (e) => { state.maxNodes = e.target.value; load({ push: true }); });
$('tenant').addEventListener('change', (e) => {
  state.tenant = e.target.value.trim();
  localStorage.setItem('pyroscope.tenant', state.tenant);
  load({ push: true });
});

$('filter-name').addEventListener('change', async (e) => {
  const name = e.target.value;
  fillSelect($('filter-value'), [], '');
  if (!name) return;
  try {
    const values = await api.labelValues(name, [mainSelector()], lastRange[0], lastRange[1]);
    fillSelect($('filter-value'), values, values[0]);
  } catch (err) { showError(err.message); }
});
$('filter-add').addEventListener('click', () => {
  const name = $('filter-name').value, value = $('filter-value').value, op = $('filter-op').value;
  if (!name) { showError('Choose a label name first.'); return; }
  state.filters.push({ name, op, value });
  state.leftSelector = ''; state.rightSelector = '';
  load({ push: true });
});
$('filter-chips').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-remove]');
  if (!b) return;
  state.filters.splice(Number(b.dataset.remove), 1);
  state.leftSelector = ''; state.rightSelector = '';
  load({ push: true });
});

for (const side of ['left', 'right']) {
  $(`${side}-selector`).addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    try { parseSelector(e.target.value); } catch (err) { showError(err.message); return; }
    state[`${side}Selector`] = e.target.value.trim();
    load({ push: true });
  });
}
for (const r of document.querySelectorAll('input[name="drag-side"]')) r.addEventListener('change', (e) => { dragSide = e.target.value; });

let searchTimer = 0;
$('search').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.search = e.target.value;
    flame.setSearch(state.search);
    table.setFilter(state.search);
    updateMatchInfo();
    writeUrl(false);
  }, 120);
});
$('reset-zoom').addEventListener('click', () => { flame.setSelectedName(null); table.setSelected(null); flame.reset(); updateMatchInfo(); });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && document.activeElement === document.body) $('reset-zoom').click(); });

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function exportBaseName() {
  const type = (state.type || 'profile').split(':').slice(0, 2).join('-');
  return `${state.service || 'all'}-${type}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
}

$('export').addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-export]');
  if (!b) return;
  $('export').open = false;
  const base = exportBaseName();
  try {
    switch (b.dataset.export) {
      case 'png':
        if (!currentModel) throw new Error('nothing to export: the flame graph is empty');
        download(`${base}.png`, await new Promise((res) => flame.canvas.toBlob(res, 'image/png')));
        break;
      case 'json':
        if (!currentRender) throw new Error('nothing to export yet');
        download(`${base}.json`, new Blob([JSON.stringify(currentRender)], { type: 'application/json' }));
        break;
      case 'pprof': {
        const bytes = await api.selectMergeProfileGzip(state.type, mainSelector(), lastRange[0], lastRange[1]);
        download(`${base}.pb.gz`, new Blob([bytes], { type: 'application/octet-stream' }));
        break;
      }
      case 'collapsed':
        if (!currentModel) throw new Error('nothing to export: the flame graph is empty');
        download(`${base}.txt`, new Blob([currentModel.collapsed()], { type: 'text/plain' }));
        break;
    }
  } catch (err) { showError(`Export failed: ${err.message}`); }
});

window.addEventListener('popstate', () => { readUrl(); load(); });

// Hooks for tests and for measuring: not used by the page itself.
window.pyroscopeUI = { flame, table, timeline, state, get model() { return currentModel; }, get render() { return currentRender; }, FlameModel };

readUrl();
load();
