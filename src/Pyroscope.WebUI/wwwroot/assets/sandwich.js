// Sandwich view of one function, computed from a loaded single FlameModel: the callers graph (stacks
// leading to the function, inverted so the function is the root) and the callees graph (the subtrees
// under the function merged, function at the root). Only outermost occurrences count (an occurrence
// with no ancestor of the same name), so a recursive function is counted once per stack and both
// roots equal the function's total in the top table.
import { FlameModel } from './flamemodel.js';

/** Growable call tree in flat arrays: node 0 is the root (the function). */
class CallTree {
  constructor() {
    this.name = [-1]; this.total = [0]; this.self = [0];
    this.children = [null]; // node → Map(canonical name index → child node)
  }

  child(node, nameIdx) {
    let kids = this.children[node];
    if (!kids) this.children[node] = kids = new Map();
    let c = kids.get(nameIdx);
    if (c === undefined) {
      c = this.name.length;
      this.name.push(nameIdx); this.total.push(0); this.self.push(0); this.children.push(null);
      kids.set(nameIdx, c);
    }
    return c;
  }

  /**
   * Flamebearer levels ([x_delta, total, self, name] per node) by a pre-order walk: children sorted by
   * name and packed from their parent's left edge, so every level stays sorted by x.
   */
  toFlamebearer(names, rootNameIdx) {
    const levels = [];
    const ends = [];
    const stack = [0, 0, 0]; // node, depth, x
    while (stack.length) {
      const x = stack.pop(), depth = stack.pop(), node = stack.pop();
      if (levels.length === depth) { levels.push([]); ends.push(0); }
      levels[depth].push(x - ends[depth], this.total[node], this.self[node], node === 0 ? rootNameIdx : this.name[node]);
      ends[depth] = x + this.total[node];
      const kids = this.children[node];
      if (!kids) continue;
      const ordered = [...kids.values()].sort((a, b) => (names[this.name[a]] < names[this.name[b]] ? -1 : names[this.name[a]] > names[this.name[b]] ? 1 : 0));
      // Push in reverse so the first child is popped (and laid out) first.
      let cx = x;
      const xs = new Array(ordered.length);
      for (let k = 0; k < ordered.length; k++) { xs[k] = cx; cx += this.total[ordered[k]]; }
      for (let k = ordered.length - 1; k >= 0; k--) stack.push(ordered[k], depth + 1, xs[k]);
    }
    return { names, levels, numTicks: this.total[0] };
  }
}

/**
 * @param {FlameModel} model a single (non-diff) model
 * @param {string} name the function
 * @returns {{callers: FlameModel, callees: FlameModel, total: number, occurrences: number} | null} null when absent
 */
export function buildSandwich(model, name) {
  const names = model.names;
  // Flamebearer names are usually unique, but map equal strings to one index so they merge.
  const canon = new Int32Array(names.length);
  const firstIndex = new Map();
  for (let i = 0; i < names.length; i++) {
    let c = firstIndex.get(names[i]);
    if (c === undefined) { c = i; firstIndex.set(names[i], i); }
    canon[i] = c;
  }
  const target = firstIndex.get(name);
  if (target === undefined) return null;

  const callers = new CallTree();
  const callees = new CallTree();
  let occurrences = 0;
  // inside[d][i]: an ancestor of node (d, i) is the function; filled top-down, one pass over all nodes.
  let insideUp = new Uint8Array(0);
  const walk = []; // reused DFS stack for callee subtrees
  for (let d = 1; d < model.levels.length; d++) {
    const lv = model.levels[d], up = model.levels[d - 1];
    const inside = new Uint8Array(lv.n);
    for (let i = 0; i < lv.n; i++) {
      const p = lv.parent[i];
      if (d > 1 && p >= 0) inside[i] = insideUp[p] || (canon[up.name[p]] === target ? 1 : 0);
      if (canon[lv.name[i]] !== target || inside[i]) continue;
      occurrences++;
      const value = lv.total[i];

      // Callers: walk up to the top frame, one tree level per caller. Callers have no self time in
      // these stacks (the function is below them); only the root has the function's own self.
      callers.total[0] += value;
      callers.self[0] += lv.self[i];
      let node = 0;
      for (let ad = d - 1, a = p; ad > 0 && a >= 0; a = model.levels[ad].parent[a], ad--) {
        node = callers.child(node, canon[model.levels[ad].name[a]]);
        callers.total[node] += value;
      }

      // Callees: merge this occurrence's subtree under the root.
      callees.total[0] += value;
      callees.self[0] += lv.self[i];
      walk.push(d, i, 0);
      while (walk.length) {
        const tnode = walk.pop(), ci = walk.pop(), cd = walk.pop();
        const clv = model.levels[cd], next = model.levels[cd + 1];
        if (!next) continue;
        for (let c = clv.childStart[ci]; c < clv.childEnd[ci]; c++) {
          const child = callees.child(tnode, canon[next.name[c]]);
          callees.total[child] += next.total[c];
          callees.self[child] += next.self[c];
          walk.push(cd + 1, c, child);
        }
      }
    }
    insideUp = inside;
  }
  if (!occurrences) return null;
  const make = (tree) => {
    const m = new FlameModel(tree.toFlamebearer(names, target), false);
    m.rootName = name;
    return m;
  };
  return { callers: make(callers), callees: make(callees), total: callers.total[0], occurrences };
}
