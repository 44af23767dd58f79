// The individual profiles of a range, found with SelectHeatmap alone (upstream's API has no "list profiles"
// call; grafana/pyroscope#3016 asks for one). A heatmap gives, per slot and value bucket, a count and the
// highest-valued profile as exemplar, so a cell holding one profile names it exactly. A slot where some cell
// holds more is asked again over just its time span with a finer step, until every cell holds one profile or
// the step is 1 ms (profiles at the same millisecond and in the same value bucket stay unresolved, and are
// counted as such). The heatmap is not grouped by labels: the profile's own labels come with its exemplar.

export const PAGE_SIZE = 100;
const SPLIT = 40;          // sub-slots per refined slot
const MAX_QUERIES = 150;   // refinement queries per listing
const MAX_PROFILES = 5000; // listed profiles; a wider search means a narrower range
const PARALLEL = 4;
const GAP = 8;             // crowded slots this close are asked for in one query

/**
 * @param {(start:number, end:number, stepSeconds:number) => Promise<object[]>} heatmap SelectHeatmap of the selection
 * @param {object[]} series the answer for the whole range (already fetched for the chart)
 * @param {number} stepMs its step
 * @returns {Promise<{profiles:{profileId:string,timestamp:number,value:number,labels:{name:string,value:string}[]}[], unresolved:number, queries:number, truncated:boolean}>}
 */
export async function listProfiles(heatmap, series, stepMs, { maxQueries = MAX_QUERIES, maxProfiles = MAX_PROFILES } = {}) {
  const found = new Map();
  const result = { profiles: [], unresolved: 0, queries: 0, truncated: false };
  // Work items: an answer over (lo, hi] with its step.
  let pending = [{ series, stepMs, lo: -Infinity, hi: Infinity }];
  while (pending.length) {
    const refine = [];
    for (const item of pending) {
      const crowded = crowdedSlots(item.series);
      // At 1 ms nothing can be split further: the crowded cells' exemplars are all there is.
      if (item.stepMs <= 1) crowded.clear();
      const held = new Map();
      for (const s of item.series) {
        for (const slot of s.slots) {
          if (!crowded.has(slot.timestamp)) { collect(s, slot, item, found, result); continue; }
          if (!held.has(slot.timestamp)) held.set(slot.timestamp, []);
          held.get(slot.timestamp).push({ s, slot, item });
        }
      }
      refine.push(...mergeAdjacent([...crowded].sort((a, b) => a - b), item.stepMs, held));
    }
    pending = [];
    if (found.size >= maxProfiles) { result.truncated = result.truncated || refine.length > 0; break; }
    const runnable = refine.slice(0, Math.max(0, maxQueries - result.queries));
    // Past the query budget a crowded slot keeps its exemplars only.
    for (const r of refine.slice(runnable.length)) {
      result.truncated = true;
      for (const it of r.held) collect(it.s, it.slot, it.item, found, result);
    }
    for (let i = 0; i < runnable.length; i += PARALLEL) {
      const batch = runnable.slice(i, i + PARALLEL);
      const answers = await Promise.all(batch.map((r) => {
        const step = exactStep(Math.max(1, Math.ceil(r.stepMs / SPLIT)));
        result.queries++;
        // The server's first slot ends at start and also holds (start − step, start]; so start = lo + step.
        return heatmap(r.lo + step, r.hi, step / 1000).then((s) => ({ series: s, stepMs: step, lo: r.lo, hi: r.hi }));
      }));
      pending.push(...answers);
    }
  }
  result.profiles = [...found.values()];
  if (result.profiles.length > maxProfiles) { result.profiles.length = maxProfiles; result.truncated = true; }
  return result;
}

/**
 * A step in ms that survives the trip through seconds: the server truncates step × 1000, and for some values
 * (1001 ms → 1.001 s → 1000.9999…) that is one less, which would move its slot edges off the ones asked for.
 */
export function exactStep(ms) {
  let step = ms;
  while (Math.trunc((step / 1000) * 1000) !== step) step++;
  return step;
}

/** Timestamps of the slots where a cell of any series holds more than one profile. */
function crowdedSlots(series) {
  const out = new Set();
  for (const s of series) for (const slot of s.slots) if (slot.counts.some((c) => c > 1)) out.add(slot.timestamp);
  return out;
}

/** Runs of nearby crowded slots as (lo, hi] ranges, each asked for once (the quiet slots between are asked again). */
function mergeAdjacent(timestamps, stepMs, held) {
  const ranges = [];
  for (const t of timestamps) {
    const last = ranges[ranges.length - 1];
    if (last && t - last.hi <= GAP * stepMs) last.hi = t;
    else ranges.push({ lo: t - stepMs, hi: t, stepMs, held: [] });
    ranges[ranges.length - 1].held.push(...held.get(t));
  }
  return ranges;
}

/** Adds the exemplars of one slot (inside the asked range) and counts the profiles they stand for beyond one. */
function collect(s, slot, item, found, result) {
  for (const e of slot.exemplars) {
    if (!e.profileId || e.timestamp <= item.lo || e.timestamp > item.hi) continue;
    if (!found.has(e.profileId)) found.set(e.profileId, { ...e, labels: s.labels.concat(e.labels) });
  }
  for (const c of slot.counts) if (c > 1) result.unresolved += c - 1;
}
