// Heatmap of individual profiles (SelectHeatmap): x = time slots, y = profile value buckets, colour = how
// many profiles fall in the cell. Drawn as SVG so every cell and exemplar is an element that can be
// hovered, clicked and inspected. Each non-empty cell carries the server's exemplar (its highest-valued
// profile); clicking the cell or its exemplar dot selects that profile.
import { escapeHtml, formatTime, formatValue } from './format.js';

const PAD = { left: 72, right: 12, top: 8, bottom: 22 };
const HEIGHT = 220;
const SVG = 'http://www.w3.org/2000/svg';

/** Slot width in seconds for about `columns` slots over the range (whole seconds, at least 1). */
export function heatmapStep(from, until, columns = 120) {
  return Math.max(1, Math.ceil((until - from) / 1000 / columns));
}

/** The bucket holding `value`: the last whose lower bound is ≤ value (the server's buckets are contiguous). */
export function bucketOf(value, yMin) {
  let b = -1;
  for (let i = 0; i < yMin.length; i++) if (value >= yMin[i]) b = i;
  return b;
}

/**
 * Sums the series of one SelectHeatmap answer into one grid. All slots of an answer share the same buckets,
 * so counts add cell by cell; a cell's exemplar is the highest-valued exemplar of that cell in any series
 * (exemplars carry no bucket index: the bucket is found from the value).
 * @returns {{stepMs:number, yMin:number[], yMax:number, total:number, cells:{slot:number, bucket:number, count:number, exemplar:object|null}[]}}
 */
export function mergeHeatmap(series, stepMs) {
  let yMin = [];
  let yMax = -Infinity;
  const cells = new Map();
  let total = 0;
  for (const s of series) {
    for (const slot of s.slots) {
      if (!yMin.length && slot.yMin.length) yMin = slot.yMin;
      const best = new Map();
      for (const e of slot.exemplars) {
        const b = bucketOf(e.value, slot.yMin);
        const prev = best.get(b);
        if (!prev || e.value > prev.value) best.set(b, { ...e, labels: s.labels.concat(e.labels) });
        if (e.value > yMax) yMax = e.value;
      }
      slot.counts.forEach((count, bucket) => {
        if (!count) return;
        total += count;
        const key = `${slot.timestamp}:${bucket}`;
        let cell = cells.get(key);
        if (!cell) { cell = { slot: slot.timestamp, bucket, count: 0, exemplar: null }; cells.set(key, cell); }
        cell.count += count;
        const e = best.get(bucket);
        if (e && (!cell.exemplar || e.value > cell.exemplar.value)) cell.exemplar = e;
      });
    }
  }
  // Without exemplars the top of the last bucket is unknown: give it the width of the others.
  if (yMax === -Infinity && yMin.length > 1) yMax = yMin[yMin.length - 1] + (yMin[1] - yMin[0]);
  if (yMin.length && yMax <= yMin[yMin.length - 1]) yMax = yMin[yMin.length - 1] + 1;
  return { stepMs, yMin, yMax, total, cells: [...cells.values()].sort((a, b) => a.slot - b.slot || a.bucket - b.bucket) };
}

/** Upper bound of bucket `b` (the next bucket's lower bound; the highest value for the last). */
export function bucketTop(grid, b) {
  return b + 1 < grid.yMin.length ? grid.yMin[b + 1] : grid.yMax;
}

export class HeatmapChart {
  /** @param {HTMLElement} host @param {{onSelect?:(cell:object)=>void}} options */
  constructor(host, { onSelect } = {}) {
    this.host = host;
    this.onSelect = onSelect || (() => {});
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('class', 'heatmap-svg');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', 'Heatmap of individual profiles: time × value, colour = number of profiles');
    this.tip = document.createElement('div');
    this.tip.className = 'heatmap-tip';
    this.tip.hidden = true;
    host.append(this.svg, this.tip);
    this.grid = null;
    this.from = 0; this.until = 1; this.unit = 'count';
    this.selected = null;
    this.message = '';
    this.svg.addEventListener('click', (e) => {
      const el = e.target.closest('[data-cell]');
      if (el) this.onSelect(this.cellOf(el));
    });
    this.svg.addEventListener('mousemove', (e) => this.showTip(e));
    this.svg.addEventListener('mouseleave', () => { this.tip.hidden = true; });
    new ResizeObserver(() => this.draw()).observe(host);
  }

  setData(grid, from, until, unit, message = '') {
    this.grid = grid; this.from = from; this.until = until; this.unit = unit; this.message = message;
    this.draw();
  }

  /** Marks the cell holding this profile (by id), or none. */
  setSelected(profileId) { this.selected = profileId || null; this.draw(); }

  cellOf(el) { return this.grid.cells[Number(el.dataset.cell)]; }

  showTip(e) {
    const el = e.target.closest('[data-cell]');
    if (!el || !this.grid) { this.tip.hidden = true; return; }
    const c = this.cellOf(el), g = this.grid, u = this.unit;
    const ex = c.exemplar;
    this.tip.innerHTML = `<div>${escapeHtml(formatTime(c.slot - g.stepMs))} → ${escapeHtml(formatTime(c.slot))}</div>`
      + `<div>value ${escapeHtml(formatValue(g.yMin[c.bucket], u))} – ${escapeHtml(formatValue(bucketTop(g, c.bucket), u))}</div>`
      + `<div><b>${c.count}</b> profile${c.count === 1 ? '' : 's'}</div>`
      + (ex ? `<div>exemplar ${escapeHtml(formatValue(ex.value, u))} at ${escapeHtml(formatTime(ex.timestamp))} · click to open</div>` : '');
    this.tip.hidden = false;
    const rect = this.host.getBoundingClientRect();
    this.tip.style.top = `${Math.max(0, e.clientY - rect.top - this.tip.offsetHeight - 8)}px`;
    this.tip.style.left = `${Math.min(e.clientX - rect.left + 12, rect.width - this.tip.offsetWidth - 4)}px`;
  }

  draw() {
    const width = Math.max(this.host.clientWidth, 300);
    const svg = this.svg;
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(HEIGHT));
    svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    const plotW = width - PAD.left - PAD.right, plotH = HEIGHT - PAD.top - PAD.bottom;
    const g = this.grid;
    const parts = [];
    const text = (x, y, s, anchor, cls = 'axis') => parts.push(`<text x="${x}" y="${y}" text-anchor="${anchor}" class="${cls}">${escapeHtml(s)}</text>`);
    // The x axis starts one step before `from`: the first slot also holds profiles in (from − step, from].
    const x0 = g && g.cells.length ? Math.min(this.from - g.stepMs, g.cells[0].slot - g.stepMs) : this.from;
    const span = Math.max(this.until - x0, 1);
    const xOf = (t) => PAD.left + ((t - x0) / span) * plotW;
    const ticks = Math.max(2, Math.floor(plotW / 120));
    for (let i = 0; i <= ticks; i++) {
      const t = x0 + (span * i) / ticks, d = new Date(t);
      const label = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}${span < 600e3 ? ':' + String(d.getSeconds()).padStart(2, '0') : ''}`;
      text(xOf(t), HEIGHT - 6, label, i === ticks ? 'end' : 'middle');
    }
    parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" class="plot"/>`);
    if (!g || !g.cells.length) {
      text(PAD.left + plotW / 2, PAD.top + plotH / 2, this.message || 'No profiles in this range', 'middle', 'empty-text');
      svg.innerHTML = parts.join('');
      return;
    }
    const rows = g.yMin.length;
    const rowH = plotH / rows;
    const yOfBucket = (b) => PAD.top + plotH - (b + 1) * rowH;
    for (let b = 0; b <= rows; b += Math.max(1, Math.ceil(rows / 5))) {
      const v = b < rows ? g.yMin[b] : g.yMax;
      text(PAD.left - 6, PAD.top + plotH - b * rowH + 4, formatValue(v, this.unit), 'end');
    }
    let maxCount = 1;
    for (const c of g.cells) if (c.count > maxCount) maxCount = c.count;
    const cellW = Math.max(2, (g.stepMs / span) * plotW);
    g.cells.forEach((c, i) => {
      // log scale, so a single profile stays visible next to a crowded cell
      const heat = 0.25 + 0.75 * (Math.log(c.count) + 1) / (Math.log(maxCount) + 1);
      const selected = this.selected && c.exemplar && c.exemplar.profileId === this.selected;
      const x = xOf(c.slot - g.stepMs), y = yOfBucket(c.bucket);
      const ex = c.exemplar;
      parts.push(`<rect data-cell="${i}" data-slot="${c.slot}" data-from="${c.slot - g.stepMs}" data-bucket="${c.bucket}"`
        + ` data-ymin="${g.yMin[c.bucket]}" data-ymax="${bucketTop(g, c.bucket)}" data-count="${c.count}"`
        + (ex ? ` data-profile="${escapeHtml(ex.profileId)}" data-value="${ex.value}" data-time="${ex.timestamp}"` : '')
        + ` x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${cellW.toFixed(1)}" height="${(rowH - 1).toFixed(1)}"`
        + ` class="cell${selected ? ' selected' : ''}" style="fill: rgba(234, 88, 12, ${heat.toFixed(3)})"/>`);
    });
    // Exemplars: one dot per cell at the exemplar's own time and value.
    g.cells.forEach((c, i) => {
      const ex = c.exemplar;
      if (!ex) return;
      const lo = g.yMin[c.bucket], hi = bucketTop(g, c.bucket);
      const f = hi > lo ? Math.min(1, Math.max(0, (ex.value - lo) / (hi - lo))) : 0.5;
      const cx = Math.min(Math.max(xOf(ex.timestamp), xOf(c.slot - g.stepMs) + 2), xOf(c.slot) - 2);
      const cy = yOfBucket(c.bucket) + (rowH - 1) * (1 - f);
      const selected = this.selected && ex.profileId === this.selected;
      parts.push(`<circle data-cell="${i}" data-profile="${escapeHtml(ex.profileId)}" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${selected ? 5 : 3.5}" class="exemplar${selected ? ' selected' : ''}"/>`);
    });
    svg.innerHTML = parts.join('');
  }
}
