// Canvas flame graph: hover tooltip, click to zoom, search and name highlighting, diff colours.
// Drawing walks the columnar FlameModel levels; nodes narrower than a pixel are skipped, so
// cost grows with what is visible, not with the node count. `inverted` draws the root at the bottom
// (the sandwich view's callers graph); a model with `rootName` has a real function as its root.
import { colorForName, diffColor, formatPercent, formatValue, escapeHtml } from './format.js';

const ROW = 20;
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

export class FlameGraph {
  /** @param {HTMLElement} host */
  constructor(host, { onZoom, onContextMenu, inverted = false, label = 'Flame graph' } = {}) {
    this.host = host;
    this.onZoom = onZoom || (() => {});
    this.onContextMenu = onContextMenu || null;
    this.inverted = inverted;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'flamegraph-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    // Hover outlines go on a second canvas on top, so moving the mouse never repaints the whole graph.
    this.overlay = document.createElement('canvas');
    this.overlay.className = 'flamegraph-overlay';
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.hidden = true;
    host.append(this.canvas, this.overlay, this.tooltip);
    this.model = null;
    this.unit = 'count';
    this.zoom = { level: 0, index: 0 };
    this.search = '';
    this.selectedName = null;
    this.hover = null;
    this.matches = null;
    this.lastRenderMs = 0;

    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = null; this.tooltip.hidden = true; this.drawHover(); });
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('contextmenu', (e) => {
      const hit = this.onContextMenu && this.hitTest(e);
      if (!hit || this.model.isDiff || (hit.level === 0 && !this.model.rootName)) return;
      e.preventDefault();
      this.tooltip.hidden = true;
      this.onContextMenu(this.nameOf(hit.level, hit.index), e.clientX, e.clientY);
    });
    new ResizeObserver(() => this.draw()).observe(host);
  }

  /** `base` is the value percentages are shares of (default: the model's total). */
  setData(model, unit, { base } = {}) {
    this.model = model;
    this.unit = unit;
    this.base = base || (model ? model.total : 0);
    this.zoom = { level: 0, index: 0 };
    this.hover = null;
    this.computeMatches();
    this.draw();
  }

  setSearch(text) { this.search = (text || '').trim().toLowerCase(); this.computeMatches(); this.draw(); }
  setSelectedName(name) { this.selectedName = name; this.computeMatches(); this.draw(); }
  reset() { this.zoomTo(0, 0); }

  nameOf(level, index) {
    const m = this.model;
    if (level === 0) return m.rootName || 'total';
    return m.names[m.levels[level].name[index]];
  }

  /** Top of a level's row in CSS pixels. */
  rowY(level) { return (this.inverted ? this.model.levels.length - 1 - level : level) * ROW; }

  zoomTo(level, index) {
    this.zoom = { level, index };
    this.draw();
    this.onZoom(level, index);
  }

  /** Zooms to the widest node with this function name. */
  zoomToName(name) {
    const m = this.model;
    if (!m) return false;
    let best = null;
    for (let d = 1; d < m.levels.length; d++) {
      const lv = m.levels[d];
      for (let i = 0; i < lv.n; i++)
        if (m.names[lv.name[i]] === name && (!best || lv.total[i] > best.total)) best = { d, i, total: lv.total[i] };
    }
    if (best) this.zoomTo(best.d, best.i);
    return !!best;
  }

  computeMatches() {
    const m = this.model;
    this.matches = null;
    this.matchStats = { count: 0, total: 0 };
    if (!m || (!this.search && this.selectedName === null)) return;
    const byName = new Uint8Array(m.names.length);
    const isMatch = (name) => (this.selectedName === null || name === this.selectedName)
      && (!this.search || name.toLowerCase().includes(this.search));
    for (let i = 0; i < m.names.length; i++) byName[i] = isMatch(m.names[i]) ? 1 : 0;
    this.matches = byName;
    this.rootMatches = m.rootName && isMatch(m.rootName) ? 1 : 0;
    // Share of the profile covered by matching frames (outermost matches only, no double counting).
    for (let d = 1; d < m.levels.length; d++) {
      const lv = m.levels[d];
      for (let i = 0; i < lv.n; i++) {
        if (!byName[lv.name[i]]) continue;
        this.matchStats.count++;
        let covered = false;
        for (let pd = d - 1, p = lv.parent[i]; pd > 0 && p >= 0; p = m.levels[pd].parent[p], pd--)
          if (byName[m.levels[pd].name[p]]) { covered = true; break; }
        if (!covered) this.matchStats.total += lv.total[i];
      }
    }
  }

  viewRange() {
    const m = this.model;
    const lv = m.levels[this.zoom.level];
    if (!lv || this.zoom.index >= lv.n) return [0, m.total || 1];
    return [lv.x[this.zoom.index], lv.x[this.zoom.index] + Math.max(lv.total[this.zoom.index], 1e-9)];
  }

  draw() {
    const t0 = performance.now();
    const m = this.model;
    const ctx = this.canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(this.host.clientWidth, 100);
    const depth = m ? m.levels.length : 0;
    const height = Math.max(depth, 1) * ROW;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
      this.overlay.width = this.canvas.width;
      this.overlay.height = this.canvas.height;
      this.overlay.style.width = `${width}px`;
      this.overlay.style.height = `${height}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (!m || !depth) { this.drawHover(); return; }

    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const charWidth = ctx.measureText('m').width;
    const [x0, x1] = this.viewRange();
    const scale = width / (x1 - x0);
    const zoomLevel = this.zoom.level;
    const matches = this.matches;
    let drawn = 0;

    for (let d = 0; d < depth; d++) {
      const lv = m.levels[d];
      const y = this.rowY(d);
      // Levels are sorted by x: binary search the first node that ends after the view starts.
      let lo = 0, hi = lv.n;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (lv.x[mid] + lv.total[mid] <= x0) lo = mid + 1; else hi = mid; }
      for (let i = lo; i < lv.n; i++) {
        const start = lv.x[i];
        if (start >= x1) break;
        const end = start + lv.total[i];
        const left = Math.max(0, (start - x0) * scale);
        const right = Math.min(width, (end - x0) * scale);
        const w = right - left;
        if (w < 0.6) continue;
        drawn++;
        const nameIdx = lv.name[i];
        const name = m.names[nameIdx];
        let fill;
        if (m.isDiff) {
          fill = diffColor(m.leftTicks ? lv.lTotal[i] / m.leftTicks : 0, m.rightTicks ? lv.rTotal[i] / m.rightTicks : 0);
        } else {
          fill = d === 0 && !m.rootName ? '#b9c0ca' : colorForName(d === 0 ? m.rootName : name);
        }
        let alpha = d < zoomLevel ? 0.45 : 1;
        const matched = matches && (d > 0 ? matches[nameIdx] : m.rootName ? this.rootMatches : 0);
        if (matches && (d > 0 || m.rootName) && !matched) { fill = '#e4e4e4'; alpha = Math.min(alpha, 0.9); }
        ctx.globalAlpha = alpha;
        ctx.fillStyle = fill;
        ctx.fillRect(left, y, Math.max(w - 1, 0.6), ROW - 1);
        if (matched) {
          ctx.strokeStyle = '#5b2ec9';
          ctx.lineWidth = 1.5;
          ctx.strokeRect(left + 0.75, y + 0.75, Math.max(w - 2.5, 0.5), ROW - 2.5);
        }
        if (w > charWidth * 3 + 6) {
          const label = d === 0 ? this.rootLabel() : name;
          const fit = Math.floor((w - 6) / charWidth);
          ctx.fillStyle = '#1d1f23';
          ctx.fillText(label.length > fit ? label.slice(0, Math.max(fit - 1, 1)) + '…' : label, left + 3, y + ROW / 2);
        }
      }
    }
    ctx.globalAlpha = 1;
    this.drawHover();
    this.lastRenderMs = performance.now() - t0;
    this.lastDrawnNodes = drawn;
    this.canvas.dataset.renderMs = this.lastRenderMs.toFixed(2);
    this.canvas.dataset.nodes = String(m.nodeCount);
  }

  drawHover() {
    const ctx = this.overlay.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const m = this.model;
    if (!m || !this.hover) return;
    const width = this.overlay.width / dpr;
    const [x0, x1] = this.viewRange();
    const scale = width / (x1 - x0);
    const lv = m.levels[this.hover.level];
    const left = Math.max((lv.x[this.hover.index] - x0) * scale, 0);
    const right = Math.min((lv.x[this.hover.index] + lv.total[this.hover.index] - x0) * scale, width);
    ctx.strokeStyle = '#1d1f23';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(left + 0.75, this.rowY(this.hover.level) + 0.75, Math.max(right - left - 2, 1), ROW - 2.5);
  }

  rootLabel() {
    const m = this.model;
    if (m.rootName) return `${m.rootName} (${formatValue(m.total, this.unit)}, ${formatPercent(m.total, this.base)})`;
    if (m.isDiff) return `total (baseline ${formatValue(m.leftTicks, this.unit)}, comparison ${formatValue(m.rightTicks, this.unit)})`;
    return `total (${formatValue(m.total, this.unit)})`;
  }

  hitTest(e) {
    const m = this.model;
    if (!m) return null;
    const rect = this.canvas.getBoundingClientRect();
    const px = e.clientX - rect.left, py = e.clientY - rect.top;
    const row = Math.floor(py / ROW);
    const level = this.inverted ? m.levels.length - 1 - row : row;
    if (level < 0 || level >= m.levels.length) return null;
    const [x0, x1] = this.viewRange();
    const tick = x0 + (px / rect.width) * (x1 - x0);
    const index = m.nodeAt(level, tick);
    return index < 0 ? null : { level, index };
  }

  onMove(e) {
    const hit = this.hitTest(e);
    const changed = (hit && (!this.hover || hit.level !== this.hover.level || hit.index !== this.hover.index)) || (!hit && this.hover);
    this.hover = hit;
    if (changed) this.drawHover();
    if (!hit) { this.tooltip.hidden = true; return; }
    this.tooltip.innerHTML = this.tooltipHtml(hit.level, hit.index);
    this.tooltip.hidden = false;
    const hostRect = this.host.getBoundingClientRect();
    let left = e.clientX - hostRect.left + 14;
    const top = e.clientY - hostRect.top + 14;
    if (left + this.tooltip.offsetWidth > hostRect.width) left = Math.max(0, e.clientX - hostRect.left - this.tooltip.offsetWidth - 14);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
  }

  tooltipHtml(level, index) {
    const m = this.model, lv = m.levels[level], u = this.unit;
    const name = this.nameOf(level, index);
    if (m.isDiff) {
      const lt = lv.lTotal[index], rt = lv.rTotal[index];
      const ls = m.leftTicks ? lt / m.leftTicks : 0, rs = m.rightTicks ? rt / m.rightTicks : 0;
      const change = ls === 0 ? (rs > 0 ? 'new' : '0%') : `${rs >= ls ? '+' : ''}${(((rs - ls) / ls) * 100).toFixed(1)}%`;
      return `<div class="tt-name">${escapeHtml(name)}</div><table>
        <tr><th></th><th>Baseline</th><th>Comparison</th></tr>
        <tr><td>Total</td><td>${formatValue(lt, u)} (${formatPercent(lt, m.leftTicks)})</td><td>${formatValue(rt, u)} (${formatPercent(rt, m.rightTicks)})</td></tr>
        <tr><td>Self</td><td>${formatValue(lv.lSelf[index], u)} (${formatPercent(lv.lSelf[index], m.leftTicks)})</td><td>${formatValue(lv.rSelf[index], u)} (${formatPercent(lv.rSelf[index], m.rightTicks)})</td></tr>
        <tr><td>Change</td><td colspan="2" class="${rs > ls ? 'worse' : rs < ls ? 'better' : ''}">${change}</td></tr></table>`;
    }
    return `<div class="tt-name">${escapeHtml(name)}</div><table>
      <tr><td>Total</td><td>${formatValue(lv.total[index], u)}</td><td>${formatPercent(lv.total[index], this.base)}</td></tr>
      <tr><td>Self</td><td>${formatValue(lv.self[index], u)}</td><td>${formatPercent(lv.self[index], this.base)}</td></tr></table>
      <div class="tt-hint">click to zoom${this.onContextMenu && (level > 0 || m.rootName) ? ' · right-click for the sandwich view' : ''}</div>`;
  }

  onClick(e) {
    const hit = this.hitTest(e);
    if (!hit) return;
    if (hit.level === this.zoom.level && hit.index === this.zoom.index && hit.level > 0) {
      // Clicking the zoomed node again steps back out to its parent.
      const parent = this.model.levels[hit.level].parent[hit.index];
      this.zoomTo(hit.level - 1, Math.max(parent, 0));
    } else {
      this.zoomTo(hit.level, hit.index);
    }
  }
}
