// The funnel of one study: participants at each step, completion rate,
// median and 90th percentile of the time spent on each step, drop-off
// between steps; a chart and the same numbers as a table. Refreshed every 3 s.

import { api } from '../api.js';
import { clear, every, fmtInt, fmtMs, fmtPct, fmtTime, h } from '../dom.js';
import { funnelChart } from '../chart.js';
import { showNotice } from '../app.js';

export async function render(main, [project]) {
	const id = encodeURIComponent(project);
	const summary = h('dl', { class: 'stats', id: 'funnel-summary' });
	const chart = h('div', { class: 'card chart-box', id: 'funnel-chart' });
	const tbody = h('tbody');
	const note = h('p', { class: 'muted small' });
	main.append(
		h('div', { class: 'page-head' }, h('h1', {}, `Funnel: ${project}`),
			h('p', {}, h('a', { href: '#/studies' }, '← Studies'), ' · ',
				h('a', { href: `#/participants/${id}` }, 'Participants'))),
		summary, chart,
		h('div', { class: 'card table-box' }, h('table', { class: 'table', id: 'funnel-table' },
			h('caption', {}, 'Per step'),
			h('thead', {}, h('tr', {}, [['Step'], ['Page'], ['Reached'], ['On it now'], ['Went on'],
				['Dropped'], ['Drop-off'], ['Median', 'median time on the step'],
				['90th pct.', '90th percentile of the time on the step'],
				['Timed', 'participants whose time on the step is known']]
				.map(([t, title]) => h('th', title ? { scope: 'col', title } : { scope: 'col' }, t)))),
			tbody)),
		note);
	const refresh = async () => {
		const f = await api(`projects/${id}/funnel`);
		clear(summary).append(
			h('div', {}, h('dt', {}, 'Started'), h('dd', { 'data-k': 'started' }, fmtInt(f.started))),
			h('div', {}, h('dt', {}, 'Completed'), h('dd', { 'data-k': 'completed' }, fmtInt(f.completed))),
			h('div', {}, h('dt', {}, 'Completion rate'), h('dd', { 'data-k': 'rate' }, fmtPct(f.completionRate))),
			h('div', {}, h('dt', {}, 'Dropped'), h('dd', { 'data-k': 'dropped' }, fmtInt(f.dropped))));
		clear(chart).append(funnelChart(f));
		clear(tbody);
		for (const s of f.steps) {
			const off = s.final || !s.reached ? null : (s.reached - s.continued - s.inProgress) / s.reached;
			tbody.append(h('tr', { 'data-step': s.step },
				h('th', { scope: 'row' }, String(s.step)),
				h('td', {}, `${s.final ? 'final: ' : ''}${s.file || ''}${s.variants ? ` (${s.variants} variants)` : ''}`),
				h('td', { 'data-k': 'reached' }, fmtInt(s.reached)),
				h('td', { 'data-k': 'here' }, fmtInt(s.here)),
				h('td', { 'data-k': 'continued' }, s.final ? '–' : fmtInt(s.continued)),
				h('td', { 'data-k': 'dropped' }, s.final ? '–' : fmtInt(s.dropped)),
				h('td', {}, fmtPct(off)),
				h('td', { 'data-k': 'median' }, s.final ? '–' : fmtMs(s.medianMs)),
				h('td', { 'data-k': 'p90' }, s.final ? '–' : fmtMs(s.p90Ms)),
				h('td', {}, s.final ? '–' : fmtInt(s.timed))));
		}
		note.textContent = `Computed ${fmtTime(f.computedAt)} in ${f.ms} ms. Dropped: not completed ` +
			`and no step change for ${f.idleMinutes} min. Time on a step: from the first request ` +
			'that showed it to the first that showed the next one. Updated every 5 s.';
	};
	await refresh();
	const t = every(5000, () => refresh().catch((e) => showNotice(e.message)));
	return () => t.stop();
}
