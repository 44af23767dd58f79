// Page controller: URL state ⇄ pickers, data loading, and wiring of timeline, flame graph and table.
import * as api from './api.js';
import { FlameModel } from './flamemodel.js';
import { FlameGraph } from './flamegraph.js';
import { Timeline } from './timeline.js';
import { TopTable } from './toptable.js';
import { buildSandwich } from './sandwich.js';
import { exploreGroups, valueLabel, GROUP_LIMIT, OTHER_COLOR } from './explore.js';
import { HeatmapView } from './heatmapview.js';
import { HeatmapPage } from './heatmappage.js';
import { formatTime, formatValue, formatPercent, unitOf, escapeHtml } from './format.js';
import { parseSelector, formatSelector, resolveTime, describeRange } from './query.js';

// Re-exported for the module tests and for anyone scripting the page.
export { parseSelector, formatSelector, resolveTime };

const $ = (id) => document.getElementById(id);

// ---------- state ----------
const state = {
  view: 'single', type: '', service: '', filters: [], from: 'now-1h', until: 'now',
  leftSelector: '', rightSelector: '', leftFrom: '', leftUntil: '', rightFrom: '', rightUntil: '',
  search: '', tenant: '', maxNodes: '',
  groupBy: '', groupByValue: null, sandwich: '',
  // heatmap view: the open profile; diff view: the comparison side is this one profile
  profile: '', profileTime: '', rightProfile: '',
};

function mainMatchers() {
  const ms = [];
  if (state.service) ms.push({ name: 'service_name', op: '=', value: state.service });
  return ms.concat(state.filters);
}
function mainSelector() { return formatSelector(mainMatchers()); }

/** The tag explorer's flame graph: the main selector narrowed to the chosen label value, if any. */
function exploreSelector() {
  const extra = state.groupBy && state.groupByValue !== null ? [{ name: state.groupBy, op: '=', value: state.groupByValue }] : [];
  return formatSelector(mainMatchers().concat(extra));
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.view = ['diff', 'explore', 'heatmap'].includes(p.get('view')) ? p.get('view') : 'single';
  state.profile = p.get('profile') || '';
  state.profileTime = /^\d+$/.test(p.get('profileTime') || '') ? p.get('profileTime') : '';
  state.rightProfile = p.get('rightProfile') || '';
  state.groupBy = p.get('groupBy') || '';
  state.groupByValue = p.has('groupByValue') ? p.get('groupByValue') : null;
  state.sandwich = p.get('sandwich') || '';
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
  if (state.view !== 'single') p.set('view', state.view);
  p.set('query', `${state.type}${mainSelector()}`);
  p.set('from', state.from);
  p.set('until', state.until);
  if (state.view === 'diff') {
    p.set('leftQuery', `${state.type}${state.leftSelector || mainSelector()}`);
    p.set('rightQuery', `${state.type}${state.rightSelector || mainSelector()}`);
    for (const k of ['leftFrom', 'leftUntil', 'rightFrom', 'rightUntil', 'rightProfile']) if (state[k]) p.set(k, state[k]);
  }
  if (state.view === 'heatmap' && state.profile) {
    p.set('profile', state.profile);
    if (state.profileTime) p.set('profileTime', state.profileTime);
  }
  if (state.view === 'explore') {
    if (state.groupBy) p.set('groupBy', state.groupBy);
    if (state.groupBy && state.groupByValue !== null) p.set('groupByValue', state.groupByValue);
  }
  if (state.sandwich && state.view !== 'diff') p.set('sandwich', state.sandwich);
  if (state.search) p.set('search', state.search);
  if (state.maxNodes) p.set('maxNodes', state.maxNodes);
  if (state.tenant) p.set('tenant', state.tenant);
  const url = `${location.pathname}?${p}`;
  if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
}

// ---------- UI pieces ----------
let loadSeq = 0;
let currentModel = null;
let currentRender = null;
let currentUnit = 'count';
let lastRange = [0, 0];
let profileTypeList = [];
let dragSide = 'left';

let currentSandwich = null;
let exploreData = null;

const flame = new FlameGraph($('flamegraph'), { onZoom: () => updateMatchInfo(), onContextMenu: openFunctionMenu });
const callersFlame = new FlameGraph($('sandwich-callers'), { inverted: true, label: 'Callers flame graph', onContextMenu: openFunctionMenu });
const calleesFlame = new FlameGraph($('sandwich-callees'), { label: 'Callees flame graph', onContextMenu: openFunctionMenu });
const table = new TopTable($('table'), {
  onSelect: (name) => {
    // In the sandwich view a row switches the sandwich to that function.
    if (state.sandwich && name) { openSandwich(name); return; }
    highlightFunction(name);
  },
  onContextMenu: openFunctionMenu,
});
const timeline = new Timeline($('timeline'), { onSelect: onTimelineSelect });
const heatmapView = new HeatmapView({
  chart: $('heatmap'), summary: $('heatmap-summary'), list: $('profile-list'),
  onOpen: (p) => heatmapPage.open(p),
  onExport: (p) => heatmapPage.exportProfile(p).catch((e) => showError(`Export failed: ${e.message}`)),
  onCompare: (p) => heatmapPage.compare(p),
});
// What the heatmap view needs of the page; the page's own variables stay here.
const heatmapPage = new HeatmapPage({
  state, view: heatmapView, mergedButton: $('heatmap-merged'),
  get range() { return lastRange; }, get unit() { return currentUnit; }, get model() { return currentModel; },
  isCurrent: (seq) => seq === loadSeq,
  setRender: (r) => { currentRender = r; },
  showModel, showError, clearError, setStatus, writeUrl, load, mainSelector,
  download: (suffix, blob) => download(`${exportBaseName()}${suffix}`, blob),
});

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
  const explore = state.view === 'explore';
  for (const id of ['explore-controls', 'timeline-legend', 'explore-table']) $(id).hidden = !explore;
  document.body.classList.toggle('explore', explore);
  $('sandwich-open').hidden = state.view === 'diff';
  const heatmap = state.view === 'heatmap';
  for (const id of ['heatmap-panel', 'profile-list']) $(id).hidden = !heatmap;
  document.body.classList.toggle('heatmap', heatmap);
  $('heatmap-merged').hidden = !state.profile;
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
    for (const id of ['explore-controls', 'explore-table', 'heatmap-panel', 'profile-list']) $(id).hidden = true;
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
  else if (state.view === 'explore') await loadExplore(seq, from, until);
  else if (state.view === 'heatmap') await heatmapPage.load(seq, from, until);
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

// ---------- tag explorer ----------
async function loadExplore(seq, from, until) {
  const selector = mainSelector();
  const t0 = performance.now();
  const errors = [];
  let names = [];
  try {
    names = (await api.labelNames([selector], from, until)).filter((n) => !n.startsWith('__'));
  } catch (e) { errors.push(e.message); }
  if (seq !== loadSeq) return;
  if (!names.includes(state.groupBy)) {
    // Default: the first label that can split the chosen service.
    state.groupBy = names.find((n) => n !== 'service_name') || names[0] || '';
    state.groupByValue = null;
    writeUrl(false);
  }
  if (names.length) fillSelect($('group-by'), names, state.groupBy);
  else $('group-by').innerHTML = '<option value="">(no labels)</option>';

  const step = stepSeconds(from, until);
  const query = `${state.type}${exploreSelector()}`;
  const [totalResult, groupedResult, renderResult] = await Promise.allSettled([
    api.selectSeries(state.type, selector, from, until, step),
    state.groupBy ? api.selectSeries(state.type, selector, from, until, step, [state.groupBy], GROUP_LIMIT) : Promise.resolve([]),
    api.render(query, from, until, state.maxNodes),
  ]);
  if (seq !== loadSeq) return;

  if (totalResult.status === 'fulfilled' && groupedResult.status === 'fulfilled') {
    const steps = Math.max(1, Math.ceil((until - from) / (step * 1000)));
    exploreData = exploreGroups(totalResult.value, groupedResult.value, state.groupBy, steps);
  } else {
    exploreData = null;
    for (const r of [totalResult, groupedResult]) if (r.status === 'rejected') errors.push(r.reason.message);
  }
  renderExplore(from, until);

  if (renderResult.status === 'fulfilled') {
    currentRender = renderResult.value;
    const valueText = state.groupByValue !== null ? ` · ${state.groupBy} = ${valueLabel(state.groupByValue)}` : '';
    showModel(new FlameModel(currentRender.flamebearer || {}, false), query, describeRange(state.from, state.until) + valueText);
  } else {
    errors.push(renderResult.reason.message);
    showModel(null);
  }
  if (errors.length) showError(errors.join(' · '));
  const values = exploreData ? `${exploreData.groups.length} value${exploreData.groups.length === 1 ? '' : 's'} · ` : '';
  setStatus(`${values}${currentModel ? currentModel.nodeCount.toLocaleString() + ' nodes · ' : ''}loaded in ${Math.round(performance.now() - t0)} ms`);
}

/** Timeline lines, legend and value table from `exploreData`; the chosen value is highlighted. */
function renderExplore(from, until) {
  const legend = $('timeline-legend');
  const box = $('explore-table');
  const d = exploreData;
  const selected = state.groupByValue;
  if (!d) {
    timeline.setSeries([], from, until, currentUnit, { message: 'Timeline unavailable' });
    legend.innerHTML = '';
    box.innerHTML = '';
    return;
  }
  const lines = d.groups.filter((g) => g.inTimeline).map((g) => ({ key: g.value, label: valueLabel(g.value), color: g.color, points: g.points }));
  if (d.other) lines.push({ key: '\u0000other', label: 'other', color: OTHER_COLOR, points: d.other.points });
  timeline.setSeries(lines, from, until, currentUnit, { highlighted: selected, message: state.groupBy ? '' : 'No label to group by' });

  const u = currentUnit;
  legend.innerHTML = lines.map((l) => (l.key === '\u0000other'
    ? `<button type="button" disabled title="the sum of all values beyond the top ${lines.length - 1}"><span class="dot" style="background:${l.color}"></span>other</button>`
    : `<button type="button" data-value="${escapeHtml(l.key)}" class="${l.key === selected ? 'selected' : ''}"><span class="dot" style="background:${l.color}"></span>${escapeHtml(l.label)}</button>`)).join('');

  const row = (g) => `<tr data-value="${escapeHtml(g.value)}" data-total="${g.total}" data-avg="${g.avg}" class="${g.value === selected ? 'selected' : ''}">`
    + `<td class="name" title="${escapeHtml(g.value)}"><span class="dot" style="background:${g.color}"></span>${escapeHtml(valueLabel(g.value))}</td>`
    + `<td class="num">${formatValue(g.total, u)}</td><td class="num">${formatPercent(g.total, d.grand)}</td><td class="num">${formatValue(g.avg, u)}</td></tr>`;
  let html = `<table class="top-table"><thead><tr><th class="name">${escapeHtml(state.groupBy || 'value')}</th><th class="num">Total</th><th class="num">Share</th>`
    + `<th class="num" title="total ÷ ${d.steps} steps of ${stepSeconds(from, until)} s">Avg per step</th></tr></thead><tbody>`;
  for (const g of d.groups) html += row(g);
  if (d.unlisted) {
    html += `<tr class="other" data-total="${d.unlisted.total}"><td class="name">other values (beyond the top ${GROUP_LIMIT})</td><td class="num">${formatValue(d.unlisted.total, u)}</td>`
      + `<td class="num">${formatPercent(d.unlisted.total, d.grand)}</td><td class="num">${formatValue(d.unlisted.avg, u)}</td></tr>`;
  }
  html += `</tbody><tfoot><tr class="other"><td class="name">all values</td><td class="num">${formatValue(d.grand, u)}</td><td class="num">100%</td><td class="num">${formatValue(d.grand / d.steps, u)}</td></tr></tfoot></table>`;
  if (!d.groups.length) html += `<div class="more">No series in this range${state.groupBy ? ` for label ${escapeHtml(state.groupBy)}` : ''}.</div>`;
  box.innerHTML = html;
}

function selectGroupValue(value) {
  state.groupByValue = state.groupByValue === value ? null : value;
  load({ push: true });
}

// ---------- sandwich ----------
function openSandwich(name) {
  if (state.view === 'diff' || !name) return;
  state.sandwich = name;
  table.setSelected(name);
  writeUrl(true);
  showSandwich();
}

function closeSandwich() {
  state.sandwich = '';
  writeUrl(true);
  showSandwich();
}

/** Shows the callers/callees graphs for `state.sandwich`, computed from the loaded flame graph. */
function showSandwich() {
  const on = !!state.sandwich && state.view !== 'diff' && !!currentModel;
  $('sandwich').hidden = !on;
  $('flamegraph').hidden = on;
  if (!on) {
    currentSandwich = null;
    callersFlame.setData(null, currentUnit);
    calleesFlame.setData(null, currentUnit);
    if (!$('flamegraph').hidden) flame.draw();
    return;
  }
  const t0 = performance.now();
  currentSandwich = buildSandwich(currentModel, state.sandwich);
  const buildMs = performance.now() - t0;
  $('sandwich-name').textContent = state.sandwich;
  $('sandwich-graphs').hidden = !currentSandwich;
  $('sandwich-missing').hidden = !!currentSandwich;
  if (!currentSandwich) {
    $('sandwich-missing').innerHTML = `<code>${escapeHtml(state.sandwich)}</code> is not in this flame graph. Pick another function in the table, or close the sandwich.`;
    $('sandwich-info').textContent = '';
    callersFlame.setData(null, currentUnit);
    calleesFlame.setData(null, currentUnit);
    return;
  }
  currentSandwich.buildMs = buildMs;
  const s = currentSandwich;
  $('sandwich-info').textContent = `total ${formatValue(s.total, currentUnit)} (${formatPercent(s.total, currentModel.total)}) · ${s.occurrences} call site${s.occurrences === 1 ? '' : 's'}`;
  for (const [g, m] of [[callersFlame, s.callers], [calleesFlame, s.callees]]) {
    g.setData(m, currentUnit, { base: currentModel.total });
    g.setSearch(state.search);
  }
}

// ---------- function menu (right-click on a frame or a table row) ----------
function openFunctionMenu(name, x, y) {
  if (state.view === 'diff') return;
  const menu = $('context-menu');
  menu.innerHTML = `<div class="cm-title" title="${escapeHtml(name)}">${escapeHtml(name)}</div>`
    + '<button type="button" role="menuitem" data-action="sandwich">Sandwich view (callers and callees)</button>'
    + '<button type="button" role="menuitem" data-action="highlight">Highlight in the flame graph</button>'
    + '<button type="button" role="menuitem" data-action="search">Search for this function</button>';
  menu.dataset.name = name;
  menu.hidden = false;
  menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - menu.offsetWidth - 4))}px`;
  menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - menu.offsetHeight - 4))}px`;
}
function closeFunctionMenu() { $('context-menu').hidden = true; }

function highlightFunction(name) {
  flame.setSelectedName(name);
  table.setSelected(name);
  if (name) flame.zoomToName(name); else flame.reset();
  updateMatchInfo();
}

function applySearch(text) {
  state.search = text;
  for (const g of [flame, callersFlame, calleesFlame]) g.setSearch(text);
  table.setFilter(text);
  updateMatchInfo();
  writeUrl(false);
}

function diffSides(from, until) {
  // Default comparison: first half of the range against the second half.
  const mid = Math.round((from + until) / 2);
  const now = Date.now();
  const r = (v, d) => (v ? resolveTime(v, now) : d);
  return {
    left: { selector: state.leftSelector || mainSelector(), from: r(state.leftFrom, from), until: r(state.leftUntil, mid) },
    right: { selector: state.rightSelector || mainSelector(), from: r(state.rightFrom, mid), until: r(state.rightUntil, until), profile: state.rightProfile },
  };
}

async function loadDiff(seq, from, until) {
  const sides = diffSides(from, until);
  $('left-selector').value = sides.left.selector;
  $('right-selector').value = sides.right.selector;
  $('left-range').textContent = `${formatTime(sides.left.from)} → ${formatTime(sides.left.until)}`;
  $('right-range').textContent = sides.right.profile
    ? `one profile: ${sides.right.profile} (${formatTime(sides.right.from)} → ${formatTime(sides.right.until)})`
    : `${formatTime(sides.right.from)} → ${formatTime(sides.right.until)}`;
  const req = (s) => ({
    profileTypeID: state.type, labelSelector: s.selector, start: s.from, end: s.until,
    ...(s.profile ? { profileIdSelector: [s.profile] } : {}),
    ...(state.maxNodes ? { maxNodes: Number(state.maxNodes) } : {}),
  });
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
    const right = sides.right.profile ? `profile ${sides.right.profile}` : sides.right.selector;
    showModel(new FlameModel(diffResult.value, true), `${state.type}: ${sides.left.selector} vs ${right}`, 'baseline vs comparison');
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
  if (state.sandwich && currentModel && !currentModel.isDiff) table.setSelected(state.sandwich);
  updateMatchInfo();
  showSandwich();
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
    else { state.rightFrom = String(lo); state.rightUntil = String(hi); state.rightProfile = ''; }
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
  // Another service has other functions, label values and profiles.
  state.sandwich = ''; state.groupByValue = null; state.profile = state.profileTime = state.rightProfile = '';
  load({ push: true });
});
$('profile-type').addEventListener('change', (e) => { state.type = e.target.value; state.profile = state.profileTime = state.rightProfile = ''; load({ push: true }); });
$('heatmap-merged').addEventListener('click', () => heatmapPage.showMerged());
for (const b of document.querySelectorAll('.preset')) {
  b.addEventListener('click', () => {
    state.from = b.dataset.range; state.until = 'now';
    state.leftFrom = state.leftUntil = state.rightFrom = state.rightUntil = state.rightProfile = '';
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
  state.leftFrom = state.leftUntil = state.rightFrom = state.rightUntil = state.rightProfile = '';
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
    if (side === 'right') state.rightProfile = '';
    load({ push: true });
  });
}
for (const r of document.querySelectorAll('input[name="drag-side"]')) r.addEventListener('change', (e) => { dragSide = e.target.value; });

let searchTimer = 0;
$('search').addEventListener('input', (e) => {
  // The state takes the text at once (only the redraw waits), so a reload that re-syncs the controls while
  // the user is typing keeps what was typed instead of resetting the box to the previous search.
  state.search = e.target.value;
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => applySearch(state.search), 120);
});
$('reset-zoom').addEventListener('click', () => {
  flame.setSelectedName(null);
  table.setSelected(state.sandwich || null);
  for (const g of [flame, callersFlame, calleesFlame]) if (g.model) g.reset();
  updateMatchInfo();
});
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  if (!$('context-menu').hidden) { closeFunctionMenu(); return; }
  if (document.activeElement === document.body) $('reset-zoom').click();
});

$('sandwich-open').addEventListener('click', () => {
  const name = table.selected || flame.selectedName;
  if (!name) { showError('Sandwich view: select a function in the table first, or right-click a frame or a table row.'); return; }
  openSandwich(name);
});
$('sandwich-close').addEventListener('click', closeSandwich);
$('context-menu').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const name = $('context-menu').dataset.name;
  closeFunctionMenu();
  switch (b.dataset.action) {
    case 'sandwich': openSandwich(name); break;
    case 'highlight':
      if (state.sandwich) closeSandwich();
      highlightFunction(name);
      break;
    case 'search':
      $('search').value = name;
      applySearch(name);
      break;
  }
});
document.addEventListener('mousedown', (e) => { if (!e.target.closest('#context-menu')) closeFunctionMenu(); });
window.addEventListener('blur', closeFunctionMenu);

$('group-by').addEventListener('change', (e) => {
  state.groupBy = e.target.value;
  state.groupByValue = null;
  load({ push: true });
});
for (const id of ['timeline-legend', 'explore-table']) {
  $(id).addEventListener('click', (e) => {
    const el = e.target.closest('[data-value]');
    if (el && !el.disabled) selectGroupValue(el.dataset.value);
  });
}

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The canvas to export: the flame graph, or callers above callees in the sandwich view. */
function pngCanvas() {
  if (!currentSandwich) return flame.canvas;
  const a = callersFlame.canvas, b = calleesFlame.canvas;
  const out = document.createElement('canvas');
  out.width = Math.max(a.width, b.width);
  out.height = a.height + b.height;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(a, 0, 0);
  ctx.drawImage(b, 0, a.height);
  return out;
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
        download(`${base}.png`, await new Promise((res) => pngCanvas().toBlob(res, 'image/png')));
        break;
      case 'json':
        if (!currentRender) throw new Error('nothing to export yet');
        download(`${base}.json`, new Blob([JSON.stringify(currentRender)], { type: 'application/json' }));
        break;
      case 'pprof': {
        if (state.view === 'heatmap' && state.profile) { await heatmapPage.exportProfile({ profileId: state.profile, timestamp: Number(state.profileTime) }); break; }
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
window.pyroscopeUI = {
  flame, table, timeline, state, callersFlame, calleesFlame, FlameModel, buildSandwich,
  get model() { return currentModel; }, get render() { return currentRender; },
  get sandwich() { return currentSandwich; }, get explore() { return exploreData; }, heatmap: heatmapView,
};

readUrl();
load();
