// Decodes flamebearer levels (delta-encoded x offsets) into absolute, columnar per-level arrays with
// parent/child links, and derives the per-function "top table". Single: 4 ints per node
// [x_delta, total, self, name]; diff: 7 ints [lx, ltotal, lself, rx, rtotal, rself, name].

export class FlameModel {
  /**
   * @param {{names:string[], levels:number[][], numTicks?:number, total?:number, leftTicks?:number, rightTicks?:number}} fb
   * @param {boolean} isDiff
   */
  constructor(fb, isDiff) {
    this.isDiff = isDiff;
    this.names = fb.names || [];
    this.leftTicks = isDiff ? Number(fb.leftTicks || 0) : 0;
    this.rightTicks = isDiff ? Number(fb.rightTicks || 0) : 0;
    this.levels = [];
    this.nodeCount = 0;
    const stride = isDiff ? 7 : 4;
    for (const raw of fb.levels || []) {
      const n = Math.floor(raw.length / stride);
      const level = {
        n,
        x: new Float64Array(n), total: new Float64Array(n), self: new Float64Array(n), name: new Int32Array(n),
        parent: new Int32Array(n).fill(-1), childStart: new Int32Array(n), childEnd: new Int32Array(n),
      };
      if (isDiff) {
        level.lTotal = new Float64Array(n); level.lSelf = new Float64Array(n);
        level.rTotal = new Float64Array(n); level.rSelf = new Float64Array(n);
      }
      let lx = 0, rx = 0;
      for (let i = 0, o = 0; i < n; i++, o += stride) {
        if (isDiff) {
          lx += Number(raw[o]); rx += Number(raw[o + 3]);
          const lt = Number(raw[o + 1]), rt = Number(raw[o + 4]);
          level.x[i] = lx + rx;
          level.total[i] = lt + rt;
          level.self[i] = Number(raw[o + 2]) + Number(raw[o + 5]);
          level.lTotal[i] = lt; level.lSelf[i] = Number(raw[o + 2]);
          level.rTotal[i] = rt; level.rSelf[i] = Number(raw[o + 5]);
          level.name[i] = Number(raw[o + 6]);
          lx += lt; rx += rt;
        } else {
          lx += Number(raw[o]);
          level.x[i] = lx;
          level.total[i] = Number(raw[o + 1]);
          level.self[i] = Number(raw[o + 2]);
          level.name[i] = Number(raw[o + 3]);
          lx += level.total[i];
        }
      }
      this.nodeCount += n;
      this.levels.push(level);
    }
    this.linkParents();
    const root = this.levels[0];
    this.total = root && root.n ? root.total[0] : Number(fb.numTicks || fb.total || 0);
    if (!isDiff && fb.numTicks) this.total = Math.max(this.total, Number(fb.numTicks));
  }

  // Children of a node are contiguous in the next level and lie inside its x range; both levels are
  // sorted by x, so one merge-like sweep per level links them.
  linkParents() {
    for (let d = 1; d < this.levels.length; d++) {
      const up = this.levels[d - 1], lv = this.levels[d];
      let p = 0;
      for (let i = 0; i < lv.n; i++) {
        const x = lv.x[i];
        while (p < up.n && up.x[p] + up.total[p] <= x && !(up.total[p] === 0 && up.x[p] === x)) p++;
        if (p >= up.n) break;
        lv.parent[i] = p;
      }
      for (let i = 0; i < up.n; i++) { up.childStart[i] = 0; up.childEnd[i] = 0; }
      let last = -1;
      for (let i = 0; i < lv.n; i++) {
        const par = lv.parent[i];
        if (par < 0) continue;
        if (par !== last) { up.childStart[par] = i; last = par; }
        up.childEnd[par] = i + 1;
      }
    }
  }

  /** Index of the node at `level` covering tick `x`, or -1. */
  nodeAt(level, x) {
    const lv = this.levels[level];
    if (!lv) return -1;
    let lo = 0, hi = lv.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (lv.x[mid] > x) hi = mid - 1;
      else if (lv.x[mid] + lv.total[mid] <= x) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Full stack (root first, excluding the synthetic "total" root) of a node. */
  stackOf(level, index) {
    const frames = [];
    for (let d = level, i = index; d > 0 && i >= 0; i = this.levels[d].parent[i], d--)
      frames.push(this.names[this.levels[d].name[i]]);
    return frames.reverse();
  }

  /**
   * Per function name: self summed over all nodes; total summed only over nodes with no ancestor of the
   * same name (so recursion is not counted twice).
   */
  topTable() {
    const rows = new Map();
    const rowFor = (nameIdx) => {
      let r = rows.get(nameIdx);
      if (!r) {
        r = { name: this.names[nameIdx], nameIndex: nameIdx, self: 0, total: 0, lSelf: 0, lTotal: 0, rSelf: 0, rTotal: 0 };
        rows.set(nameIdx, r);
      }
      return r;
    };
    if (this.levels.length < 2) return [];
    const onPath = new Map(); // name index → count of ancestors on the current DFS path
    const stack = [];
    const top = this.levels[1];
    for (let i = top.n - 1; i >= 0; i--) stack.push(1, i, 0);
    while (stack.length) {
      const exit = stack.pop(), i = stack.pop(), d = stack.pop();
      const lv = this.levels[d];
      const nameIdx = lv.name[i];
      if (exit) {
        const c = onPath.get(nameIdx) - 1;
        if (c) onPath.set(nameIdx, c); else onPath.delete(nameIdx);
        continue;
      }
      const r = rowFor(nameIdx);
      r.self += lv.self[i];
      if (this.isDiff) { r.lSelf += lv.lSelf[i]; r.rSelf += lv.rSelf[i]; }
      if (!onPath.has(nameIdx)) {
        r.total += lv.total[i];
        if (this.isDiff) { r.lTotal += lv.lTotal[i]; r.rTotal += lv.rTotal[i]; }
      }
      onPath.set(nameIdx, (onPath.get(nameIdx) || 0) + 1);
      stack.push(d, i, 1);
      const next = this.levels[d + 1];
      if (next) for (let c = lv.childEnd[i] - 1; c >= lv.childStart[i]; c--) stack.push(d + 1, c, 0);
    }
    return [...rows.values()];
  }

  /** Folded ("collapsed") stacks: one `a;b;c value` line per node with self time. */
  collapsed() {
    const lines = [];
    for (let d = 1; d < this.levels.length; d++) {
      const lv = this.levels[d];
      for (let i = 0; i < lv.n; i++) if (lv.self[i] > 0) lines.push(`${this.stackOf(d, i).join(';')} ${lv.self[i]}`);
    }
    return lines.join('\n') + '\n';
  }
}
