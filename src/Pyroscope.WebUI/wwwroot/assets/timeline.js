// Timeline of the selected series on canvas. Dragging selects a time range; selections (one in the
// single view, baseline + comparison in the diff view) are drawn as tinted bands. The tag explorer
// draws several series (one line per label value) with `setSeries`.
import { escapeHtml, formatTime, formatValue } from './format.js';

const PAD = { left: 64, right: 12, top: 10, bottom: 22 };

export class Timeline {
  constructor(host, { onSelect } = {}) {
    this.host = host;
    this.onSelect = onSelect || (() => {});
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline-canvas';
    this.canvas.setAttribute('aria-label', 'Timeline: drag to select a time range');
    this.tip = document.createElement('div');
    this.tip.className = 'timeline-tip';
    this.tip.hidden = true;
    host.append(this.canvas, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.showTip(e));
    this.canvas.addEventListener('mouseleave', () => { this.tip.hidden = true; });
    this.points = [];
    this.series = [];
    this.highlighted = null;
    this.from = 0; this.until = 1;
    this.unit = 'count';
    this.bands = [];
    this.drag = null;
    this.message = '';
    this.canvas.addEventListener('mousedown', (e) => { this.drag = { a: this.toTime(e), b: this.toTime(e) }; });
    window.addEventListener('mousemove', (e) => { if (this.drag) { this.drag.b = this.toTime(e); this.draw(); } });
    window.addEventListener('mouseup', () => {
      if (!this.drag) return;
      const { a, b } = this.drag;
      this.drag = null;
      const lo = Math.min(a, b), hi = Math.max(a, b);
      // A click (not a drag) should not collapse the range to nothing.
      if (hi - lo > (this.until - this.from) / 500) this.onSelect(Math.round(lo), Math.round(hi));
      this.draw();
    });
    new ResizeObserver(() => this.draw()).observe(host);
  }

  /** @param {{timestamp:number,value:number}[]} points  @param {{from:number,until:number,color:string}[]} bands */
  setData(points, from, until, unit, bands = [], message = '') {
    this.setSeries([{ key: '', label: '', color: '#ea580c', fill: true, points }], from, until, unit, { bands, message });
  }

  /**
   * @param {{key:string,label:string,color:string,fill?:boolean,points:{timestamp:number,value:number}[]}[]} series
   * @param {{bands?:object[], message?:string, highlighted?:string|null}} options highlighted: key drawn bold, others faded
   */
  setSeries(series, from, until, unit, { bands = [], message = '', highlighted = null } = {}) {
    this.series = series.map((s) => ({ ...s, points: [...s.points].sort((a, b) => a.timestamp - b.timestamp) }));
    this.points = [];
    for (const s of this.series) for (const p of s.points) this.points.push(p);
    this.from = from; this.until = until; this.unit = unit; this.bands = bands; this.message = message;
    this.highlighted = highlighted;
    this.draw();
  }

  setHighlighted(key) { this.highlighted = key; this.draw(); }

  // Nearest point to the cursor: its time and value, so a spike can be read without another tool.
  showTip(e) {
    if (this.drag || !this.points.length) { this.tip.hidden = true; return; }
    const t = this.toTime(e);
    let best = this.points[0];
    for (const p of this.points) if (Math.abs(p.timestamp - t) < Math.abs(best.timestamp - t)) best = p;
    if (this.series.length <= 1) {
      this.tip.textContent = `${formatTime(best.timestamp)} · ${formatValue(best.value, this.unit)}`;
    } else {
      // One line per series at that step, largest first.
      const at = [];
      for (const s of this.series) {
        const p = s.points.find((q) => q.timestamp === best.timestamp);
        if (p) at.push([s, p.value]);
      }
      at.sort((a, b) => b[1] - a[1]);
      this.tip.innerHTML = `<div>${escapeHtml(formatTime(best.timestamp))}</div>` + at.map(([s, v]) =>
        `<div><span class="dot" style="background:${s.color}"></span>${escapeHtml(s.label)} · ${escapeHtml(formatValue(v, this.unit))}</div>`).join('');
    }
    this.tip.hidden = false;
    const rect = this.host.getBoundingClientRect();
    const x = e.clientX - rect.left;
    this.tip.style.top = '4px';
    this.tip.style.left = `${Math.min(x + 12, rect.width - this.tip.offsetWidth - 4)}px`;
  }

  toTime(e) {
    const rect = this.canvas.getBoundingClientRect();
    const plotW = rect.width - PAD.left - PAD.right;
    const f = Math.min(Math.max((e.clientX - rect.left - PAD.left) / plotW, 0), 1);
    return this.from + f * (this.until - this.from);
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(this.host.clientWidth, 200), height = 130;
    if (this.canvas.width !== Math.round(width * dpr)) {
      this.canvas.width = Math.round(width * dpr); this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`; this.canvas.style.height = `${height}px`;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const plotW = width - PAD.left - PAD.right, plotH = height - PAD.top - PAD.bottom;
    const span = Math.max(this.until - this.from, 1);
    const xOf = (t) => PAD.left + ((t - this.from) / span) * plotW;
    let max = 0;
    for (const p of this.points) if (p.value > max) max = p.value;
    const yOf = (v) => PAD.top + plotH - (max ? (v / max) * plotH : 0);

    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#6b7280';
    ctx.strokeStyle = '#e5e7eb';
    ctx.lineWidth = 1;
    for (let g = 0; g <= 3; g++) {
      const v = (max * g) / 3, y = yOf(v);
      ctx.beginPath(); ctx.moveTo(PAD.left, y + 0.5); ctx.lineTo(width - PAD.right, y + 0.5); ctx.stroke();
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.fillText(formatValue(v, this.unit), PAD.left - 6, y);
    }
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const ticks = Math.max(2, Math.floor(plotW / 120));
    for (let i = 0; i <= ticks; i++) {
      const t = this.from + (span * i) / ticks;
      const d = new Date(t);
      const label = span > 2 * 86400e3 ? `${d.getMonth() + 1}/${d.getDate()} ${String(d.getHours()).padStart(2, '0')}:00`
        : `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}${span < 600e3 ? ':' + String(d.getSeconds()).padStart(2, '0') : ''}`;
      ctx.fillText(label, xOf(t), height - PAD.bottom + 5);
    }

    for (const band of this.bands) {
      ctx.fillStyle = band.color;
      const a = Math.max(xOf(band.from), PAD.left), b = Math.min(xOf(band.until), width - PAD.right);
      if (b > a) ctx.fillRect(a, PAD.top, b - a, plotH);
    }

    if (this.points.length) {
      for (const s of this.series) {
        const pts = s.points;
        if (!pts.length) continue;
        const faded = this.highlighted !== null && s.key !== this.highlighted;
        ctx.globalAlpha = faded ? 0.3 : 1;
        if (s.fill) {
          ctx.beginPath();
          ctx.moveTo(xOf(pts[0].timestamp), yOf(0));
          for (const p of pts) ctx.lineTo(xOf(p.timestamp), yOf(p.value));
          ctx.lineTo(xOf(pts[pts.length - 1].timestamp), yOf(0));
          ctx.closePath();
          ctx.fillStyle = 'rgba(234, 88, 12, 0.25)';
          ctx.fill();
        }
        ctx.beginPath();
        pts.forEach((p, i) => (i ? ctx.lineTo(xOf(p.timestamp), yOf(p.value)) : ctx.moveTo(xOf(p.timestamp), yOf(p.value))));
        ctx.strokeStyle = s.color; ctx.lineWidth = s.key === this.highlighted && this.highlighted !== null ? 3 : 1.5; ctx.stroke();
        if (pts.length === 1) { ctx.fillStyle = s.color; ctx.beginPath(); ctx.arc(xOf(pts[0].timestamp), yOf(pts[0].value), 3, 0, 7); ctx.fill(); }
      }
      ctx.globalAlpha = 1;
    } else {
      ctx.fillStyle = '#9ca3af'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.fillText(this.message || 'No data points in this range', PAD.left + plotW / 2, PAD.top + plotH / 2);
    }

    if (this.drag) {
      const a = xOf(Math.min(this.drag.a, this.drag.b)), b = xOf(Math.max(this.drag.a, this.drag.b));
      ctx.fillStyle = 'rgba(59, 130, 246, 0.25)';
      ctx.fillRect(a, PAD.top, b - a, plotH);
    }
  }
}
