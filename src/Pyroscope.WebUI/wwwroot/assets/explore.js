// Tag explorer numbers: turns two SelectSeries answers (the whole selection, and the same selection
// grouped by one label) into one row per label value, the top lines for the timeline and an "other"
// line. "other" is the whole selection minus the top lines at each step: both answers use the same
// steps and sum integer sample values, so the difference is exact, not an estimate.

export const TOP_LINES = 10;
/** Series kept by the server (SelectSeries `limit`); values beyond it only show up in "other". */
export const GROUP_LIMIT = 500;
export const OTHER_COLOR = '#9ca3af';
const colors = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4f46e5', '#65a30d'];

export function seriesColor(i) { return colors[i % colors.length]; }

/** Label shown for a value; a series without the label groups under the empty value. */
export function valueLabel(value) { return value === '' ? '(no value)' : value; }

/**
 * @param {{labels:{name:string,value:string}[], points:{timestamp:number,value:number}[]}[]} total ungrouped series
 * @param {typeof total} grouped the same query grouped by `label` (possibly cut to the top GROUP_LIMIT)
 * @param {string} label the group-by label name
 * @param {number} steps steps in the time range, for the average per step
 */
export function exploreGroups(total, grouped, label, steps, topLines = TOP_LINES) {
  const overall = new Map();
  for (const s of total) for (const p of s.points) overall.set(p.timestamp, (overall.get(p.timestamp) || 0) + p.value);
  let grand = 0;
  for (const v of overall.values()) grand += v;

  const groups = grouped.map((s) => {
    const l = s.labels.find((x) => x.name === label);
    let sum = 0;
    for (const p of s.points) sum += p.value;
    return { value: l ? l.value : '', points: s.points, total: sum };
  });
  groups.sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  groups.forEach((g, i) => {
    g.inTimeline = i < topLines;
    g.color = g.inTimeline ? seriesColor(i) : OTHER_COLOR;
    g.share = grand ? g.total / grand : 0;
    g.avg = g.total / Math.max(steps, 1);
  });

  const rest = new Map(overall);
  for (let i = 0; i < Math.min(topLines, groups.length); i++)
    for (const p of groups[i].points) rest.set(p.timestamp, (rest.get(p.timestamp) || 0) - p.value);
  // Tolerance for float sums of very large values; sample values are integers.
  const eps = Math.abs(grand) * 1e-12;
  const otherPoints = [];
  let otherTotal = 0;
  for (const [timestamp, value] of rest) if (value > eps) { otherPoints.push({ timestamp, value }); otherTotal += value; }

  let listed = 0;
  for (const g of groups) listed += g.total;
  const unlisted = grand - listed > eps ? grand - listed : 0;
  return {
    groups, grand, steps,
    other: otherTotal > 0 ? { points: otherPoints, total: otherTotal, share: grand ? otherTotal / grand : 0, avg: otherTotal / Math.max(steps, 1) } : null,
    unlisted: unlisted ? { total: unlisted, share: unlisted / grand, avg: unlisted / Math.max(steps, 1) } : null,
  };
}
