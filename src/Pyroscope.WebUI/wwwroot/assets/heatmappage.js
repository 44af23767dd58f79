// The heatmap view's loading and actions: the heatmap and profile list (heatmapview.js), and the flame graph
// of the open profile or of the whole range. One profile is asked for by id (profile_id_selector) over its
// own instant ± 1 s, so it is found wherever the range lies.
import * as api from './api.js';
import { FlameModel } from './flamemodel.js';
import { heatmapStep, mergeHeatmap } from './heatmap.js';
import { listProfiles } from './profiles.js';
import { describeRange } from './query.js';
import { formatTime } from './format.js';

/** Time range asked for one profile: its own instant (the id selects it), or the whole range without one. */
export function profileRange(time, from, until) {
  const t = Number(time);
  return t > 0 ? [t - 1000, t + 1000] : [from, until];
}

export class HeatmapPage {
  /** @param {object} page the state and page functions of app.js (see where it is built) */
  constructor(page) {
    this.page = page;
    this.flameSeq = 0;
  }

  async load(seq, from, until) {
    const { page } = this, { state, view } = page;
    const selector = page.mainSelector();
    const t0 = performance.now();
    const errors = [];
    view.setSelected(state.profile);
    const step = heatmapStep(from, until);
    const ask = (start, end, stepSeconds) => api.selectHeatmap(state.type, selector, start, end, stepSeconds);
    const [heat, flame] = await Promise.allSettled([ask(from, until, step), this.loadFlame(from, until)]);
    if (!page.isCurrent(seq)) return;
    if (flame.value) errors.push(flame.value);
    if (heat.status === 'fulfilled') {
      view.setGrid(mergeHeatmap(heat.value, step * 1000), from, until, page.unit);
      try {
        const listing = await listProfiles(ask, heat.value, step * 1000);
        if (!page.isCurrent(seq)) return;
        view.setListing(listing);
      } catch (e) {
        if (!page.isCurrent(seq)) return;
        view.setListing(null, e.message);
      }
    } else {
      view.setGrid(null, from, until, page.unit, 'Heatmap unavailable');
      errors.push(heat.reason.message);
    }
    if (errors.length) page.showError(errors.join(' · '));
    const listed = view.listing ? `${view.listing.profiles.length} profiles listed · ` : '';
    const nodes = page.model ? `${page.model.nodeCount.toLocaleString()} nodes · ` : '';
    page.setStatus(`${listed}${nodes}loaded in ${Math.round(performance.now() - t0)} ms`);
  }

  /** The flame graph: the open profile alone, or the merged range. Returns an error message or ''. */
  async loadFlame(from, until) {
    const { page } = this, { state } = page;
    const seq = ++this.flameSeq;
    const query = `${state.type}${page.mainSelector()}`;
    try {
      if (!state.profile) {
        const r = await api.render(query, from, until, state.maxNodes);
        if (seq !== this.flameSeq) return '';
        page.setRender(r);
        page.showModel(new FlameModel(r.flamebearer || {}, false), query, describeRange(state.from, state.until));
        return '';
      }
      const [start, end] = profileRange(state.profileTime, from, until);
      const fb = await api.selectMergeStacktraces(state.type, page.mainSelector(), start, end, [state.profile], state.maxNodes);
      if (seq !== this.flameSeq) return '';
      page.setRender({ version: 1, flamebearer: fb, metadata: { format: 'single', units: page.unit, name: state.type } });
      const when = state.profileTime ? formatTime(Number(state.profileTime)) : describeRange(state.from, state.until);
      page.showModel(new FlameModel(fb, false), `${query} · profile ${state.profile}`, when);
      return '';
    } catch (e) {
      if (seq !== this.flameSeq) return '';
      page.showModel(null);
      return e.message;
    }
  }

  /** Opens one profile (a cell's exemplar or a list row) in the flame graph, without reloading the heatmap. */
  open(p) {
    Object.assign(this.page.state, { profile: p.profileId, profileTime: String(p.timestamp) });
    this.reloadFlame();
  }

  showMerged() {
    Object.assign(this.page.state, { profile: '', profileTime: '' });
    this.reloadFlame();
  }

  async reloadFlame() {
    const { page } = this;
    page.writeUrl(true);
    page.view.setSelected(page.state.profile);
    page.mergedButton.hidden = !page.state.profile;
    page.clearError();
    page.setStatus('Loading…');
    const error = await this.loadFlame(page.range[0], page.range[1]);
    if (error) page.showError(error);
    page.setStatus(page.model ? `${page.model.nodeCount.toLocaleString()} nodes` : '');
  }

  async exportProfile(p) {
    const { page } = this;
    const [start, end] = profileRange(p.timestamp, page.range[0], page.range[1]);
    const bytes = await api.selectMergeProfileGzip(page.state.type, page.mainSelector(), start, end, [p.profileId]);
    page.download(`-profile-${p.profileId}.pb.gz`, new Blob([bytes], { type: 'application/octet-stream' }));
  }

  /** The diff view: the merged range as the baseline, this one profile as the comparison. */
  compare(p) {
    const { page } = this;
    const [from, until] = page.range;
    const [start, end] = profileRange(p.timestamp, from, until);
    const selector = page.mainSelector();
    Object.assign(page.state, {
      view: 'diff', leftSelector: selector, rightSelector: selector, rightProfile: p.profileId,
      leftFrom: String(from), leftUntil: String(until), rightFrom: String(start), rightUntil: String(end),
    });
    page.load({ push: true });
  }
}
