// The heatmap view's panels: the chart (heatmap.js) and the list of individual profiles in the range,
// paged, sortable, narrowed to one cell when a cell is clicked. Each row opens its profile's flame graph,
// downloads it as pprof, or compares it with the merged view; what those do is up to the page (app.js).
import { HeatmapChart, bucketTop } from './heatmap.js';
import { PAGE_SIZE } from './profiles.js';
import { escapeHtml, formatTime, formatValue } from './format.js';

export class HeatmapView {
  /**
   * @param {{chart:HTMLElement, summary:HTMLElement, list:HTMLElement,
   *   onOpen:(p:object)=>void, onExport:(p:object)=>void, onCompare:(p:object)=>void}} options
   */
  constructor({ chart, summary, list, onOpen, onExport, onCompare }) {
    this.chart = new HeatmapChart(chart, { onSelect: (cell) => this.selectCell(cell) });
    this.summary = summary;
    this.list = list;
    this.actions = { open: onOpen, pprof: onExport, compare: onCompare };
    this.grid = null;
    this.listing = null;
    this.listError = '';
    this.cell = null;
    this.page = 0;
    this.sort = 'time';
    this.selected = null;
    this.unit = 'count';
    list.addEventListener('click', (e) => this.onListClick(e));
  }

  /** A new range or selection: the chart, and the list still to come. */
  setGrid(grid, from, until, unit, message = '') {
    this.grid = grid;
    this.unit = unit;
    this.listing = null;
    this.listError = '';
    this.cell = null;
    this.page = 0;
    this.chart.setData(grid, from, until, unit, message);
    this.chart.setSelected(this.selected);
    this.renderSummary();
    this.renderList();
  }

  setListing(listing, error = '') {
    this.listing = listing;
    this.listError = error;
    this.renderSummary();
    this.renderList();
  }

  setSelected(profileId) {
    this.selected = profileId || null;
    this.chart.setSelected(this.selected);
    this.renderList();
  }

  /** Clicking a cell opens its exemplar and narrows the list to the cell's profiles. */
  selectCell(cell) {
    this.cell = cell;
    this.page = 0;
    this.renderList();
    if (cell.exemplar) this.actions.open(cell.exemplar);
  }

  clearCell() { this.cell = null; this.page = 0; this.renderList(); }

  renderSummary() {
    const g = this.grid;
    if (!g) { this.summary.textContent = ''; return; }
    const l = this.listing;
    let text = `${g.total.toLocaleString()} profile${g.total === 1 ? '' : 's'} in ${g.cells.length} cell${g.cells.length === 1 ? '' : 's'}`
      + ` (slots of ${formatStep(g.stepMs)})`;
    if (l) {
      text += ` · ${l.profiles.length.toLocaleString()} listed`;
      if (l.unresolved) text += `, ${l.unresolved} more share a millisecond, series and value bucket with a listed one`;
      if (l.truncated) text += ' · list cut short: narrow the time range to list every profile';
    }
    text += '. Click a cell or an exemplar dot to open that profile.';
    this.summary.textContent = text;
  }

  /** The listed profiles, narrowed to the chosen cell and sorted. */
  rows() {
    if (!this.listing) return [];
    let rows = this.listing.profiles;
    const c = this.cell, g = this.grid;
    if (c && g) {
      const lo = g.yMin[c.bucket], hi = bucketTop(g, c.bucket), last = c.bucket === g.yMin.length - 1;
      rows = rows.filter((p) => p.timestamp > c.slot - g.stepMs && p.timestamp <= c.slot && p.value >= lo && (p.value < hi || last));
    }
    const by = this.sort === 'value' ? (a, b) => b.value - a.value || b.timestamp - a.timestamp : (a, b) => b.timestamp - a.timestamp || b.value - a.value;
    return [...rows].sort(by);
  }

  renderList() {
    const box = this.list;
    if (!this.grid) { box.innerHTML = ''; return; }
    if (this.listError) { box.innerHTML = `<div class="more">The profile list could not be loaded: ${escapeHtml(this.listError)}</div>`; return; }
    if (!this.listing) { box.innerHTML = '<div class="more">Listing profiles…</div>'; return; }
    const rows = this.rows();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    this.page = Math.min(this.page, pages - 1);
    const shown = rows.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE);
    const common = commonLabels(this.listing.profiles);
    const u = this.unit;
    const c = this.cell;
    let html = '<div class="profile-list-bar">';
    html += c
      ? `<span class="cell-filter">Cell ${escapeHtml(formatTime(c.slot - this.grid.stepMs))} → ${escapeHtml(formatTime(c.slot))}, ${escapeHtml(formatValue(this.grid.yMin[c.bucket], u))} – ${escapeHtml(formatValue(bucketTop(this.grid, c.bucket), u))}: ${c.count} profile${c.count === 1 ? '' : 's'}</span> <button type="button" data-list="all">Show all profiles</button>`
      : `<span>${rows.length.toLocaleString()} profile${rows.length === 1 ? '' : 's'}</span>`;
    html += `<label>Sort <select data-list="sort" aria-label="Sort profiles"><option value="time"${this.sort === 'time' ? ' selected' : ''}>newest first</option><option value="value"${this.sort === 'value' ? ' selected' : ''}>largest first</option></select></label>`;
    html += `<span class="pager"><button type="button" data-list="prev"${this.page ? '' : ' disabled'}>‹ Newer</button> page ${this.page + 1} / ${pages} <button type="button" data-list="next"${this.page + 1 < pages ? '' : ' disabled'}>Older ›</button></span></div>`;
    html += '<table class="top-table profile-table"><thead><tr><th>Time</th><th class="num">Value</th><th>Labels</th><th>Profile id</th><th></th></tr></thead><tbody>';
    for (const p of shown) {
      const labels = p.labels.filter((l) => !common.has(`${l.name}\u0000${l.value}`) && !l.name.startsWith('__'));
      html += `<tr data-profile="${escapeHtml(p.profileId)}" data-time="${p.timestamp}" data-value="${p.value}" class="${p.profileId === this.selected ? 'selected' : ''}">`
        + `<td class="time">${escapeHtml(formatTime(p.timestamp))}</td><td class="num">${escapeHtml(formatValue(p.value, u))}</td>`
        + `<td class="labels">${labels.map((l) => `<span class="label">${escapeHtml(l.name)}=${escapeHtml(l.value)}</span>`).join(' ')}</td>`
        + `<td class="id"><code>${escapeHtml(p.profileId)}</code></td>`
        + '<td class="actions"><button type="button" data-action="open">Open</button> <button type="button" data-action="pprof" title="Download this profile as pprof (.pb.gz)">pprof</button>'
        + ' <button type="button" data-action="compare" title="Diff: the merged view of the range (baseline) against this profile">Compare with merged</button></td></tr>';
    }
    html += '</tbody></table>';
    if (!shown.length) html += `<div class="more">${c ? 'No listed profile in this cell.' : 'No profiles in this range.'}</div>`;
    box.innerHTML = html;
    const sort = box.querySelector('select[data-list=sort]');
    sort.addEventListener('change', () => { this.sort = sort.value; this.page = 0; this.renderList(); });
  }

  onListClick(e) {
    const nav = e.target.closest('button[data-list]');
    if (nav) {
      if (nav.dataset.list === 'all') this.clearCell();
      else { this.page += nav.dataset.list === 'next' ? 1 : -1; this.renderList(); }
      return;
    }
    const row = e.target.closest('tr[data-profile]');
    if (!row) return;
    const profile = this.listing.profiles.find((p) => p.profileId === row.dataset.profile);
    const b = e.target.closest('button[data-action]');
    this.actions[b ? b.dataset.action : 'open'](profile);
  }
}

/** Label pairs every listed profile shares (service, filters): not worth repeating on each row. */
function commonLabels(profiles) {
  if (!profiles.length) return new Set();
  let common = new Set(profiles[0].labels.map((l) => `${l.name}\u0000${l.value}`));
  for (const p of profiles) {
    const own = new Set(p.labels.map((l) => `${l.name}\u0000${l.value}`));
    common = new Set([...common].filter((k) => own.has(k)));
  }
  return common;
}

function formatStep(ms) {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
