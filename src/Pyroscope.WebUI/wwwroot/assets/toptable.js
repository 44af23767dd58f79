// The "top table": one row per function, sortable and searchable, linked to the flame graph.
import { escapeHtml, formatPercent, formatValue } from './format.js';

export class TopTable {
  constructor(host, { onSelect, onContextMenu } = {}) {
    this.host = host;
    this.onSelect = onSelect || (() => {});
    // Right-click on a row opens the page's function menu (sandwich view).
    if (onContextMenu) {
      host.addEventListener('contextmenu', (e) => {
        const tr = e.target.closest('tr[data-name]');
        if (!tr || !this.model || this.model.isDiff) return;
        e.preventDefault();
        onContextMenu(tr.dataset.name, e.clientX, e.clientY);
      });
    }
    this.rows = [];
    this.sort = { key: 'self', desc: true };
    this.filter = '';
    this.selected = null;
    this.limit = 500;
    host.addEventListener('click', (e) => {
      const th = e.target.closest('th[data-key]');
      if (th) {
        const key = th.dataset.key;
        this.sort = { key, desc: this.sort.key === key ? !this.sort.desc : key !== 'name' };
        this.render();
        return;
      }
      const tr = e.target.closest('tr[data-name]');
      if (tr) {
        const name = tr.dataset.name;
        this.selected = this.selected === name ? null : name;
        this.render();
        this.onSelect(this.selected);
      }
    });
  }

  setData(model, unit) {
    this.model = model; this.unit = unit;
    this.rows = model ? model.topTable() : [];
    this.selected = null;
    if (model && model.isDiff) {
      const lt = model.leftTicks || 1, rt = model.rightTicks || 1;
      for (const r of this.rows) r.change = r.rTotal / rt - r.lTotal / lt;
      if (!['name', 'lSelf', 'lTotal', 'rSelf', 'rTotal', 'change'].includes(this.sort.key)) this.sort = { key: 'change', desc: true };
    } else if (!['name', 'self', 'total'].includes(this.sort.key)) {
      this.sort = { key: 'self', desc: true };
    }
    this.render();
  }

  setFilter(text) { this.filter = (text || '').trim().toLowerCase(); this.render(); }
  setSelected(name) { this.selected = name; this.render(); }

  render() {
    const m = this.model;
    if (!m) { this.host.innerHTML = ''; return; }
    const { key, desc } = this.sort;
    const rows = this.rows.filter((r) => !this.filter || r.name.toLowerCase().includes(this.filter));
    rows.sort((a, b) => {
      const c = key === 'name' ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a[key] - b[key];
      return desc ? -c : c;
    });
    const u = this.unit;
    const arrow = (k) => (k === key ? (desc ? ' ▼' : ' ▲') : '');
    const th = (k, label, cls = 'num') => `<th data-key="${k}" class="${cls}" aria-sort="${k === key ? (desc ? 'descending' : 'ascending') : 'none'}">${label}${arrow(k)}</th>`;
    const shown = rows.slice(0, this.limit);
    let html;
    if (m.isDiff) {
      const lt = m.leftTicks, rt = m.rightTicks;
      html = `<table class="top-table diff"><thead><tr>${th('name', 'Symbol', 'name')}${th('lSelf', 'Base self')}${th('lTotal', 'Base total')}${th('rSelf', 'Comp self')}${th('rTotal', 'Comp total')}${th('change', 'Δ total')}</tr></thead><tbody>`;
      for (const r of shown) {
        const pts = (r.change * 100).toFixed(2);
        html += `<tr data-name="${escapeHtml(r.name)}" class="${r.name === this.selected ? 'selected' : ''}"><td class="name" title="${escapeHtml(r.name)}">${escapeHtml(r.name)}</td>`
          + `<td class="num">${formatPercent(r.lSelf, lt)}</td><td class="num">${formatPercent(r.lTotal, lt)}</td>`
          + `<td class="num">${formatPercent(r.rSelf, rt)}</td><td class="num">${formatPercent(r.rTotal, rt)}</td>`
          + `<td class="num ${r.change > 0 ? 'worse' : r.change < 0 ? 'better' : ''}">${r.change > 0 ? '+' : ''}${pts} pp</td></tr>`;
      }
    } else {
      const total = m.total;
      html = `<table class="top-table"><thead><tr>${th('name', 'Symbol', 'name')}${th('self', 'Self')}${th('total', 'Total')}</tr></thead><tbody>`;
      for (const r of shown) {
        html += `<tr data-name="${escapeHtml(r.name)}" class="${r.name === this.selected ? 'selected' : ''}"><td class="name" title="${escapeHtml(r.name)}">${escapeHtml(r.name)}</td>`
          + `<td class="num" data-value="${r.self}">${formatValue(r.self, u)} <span class="pct">${formatPercent(r.self, total)}</span></td>`
          + `<td class="num" data-value="${r.total}">${formatValue(r.total, u)} <span class="pct">${formatPercent(r.total, total)}</span></td></tr>`;
      }
    }
    html += '</tbody></table>';
    if (rows.length > shown.length) html += `<div class="more">${rows.length - shown.length} more rows: refine the search to see them</div>`;
    if (!rows.length) html += '<div class="more">No function matches the search.</div>';
    this.host.innerHTML = html;
  }
}
