// SVG charts drawn with DOM calls (no markup strings). They carry their
// numbers as text and tell series apart by pattern as well as colour, so
// they read in grey scale and to a screen reader (role="img" + a title).

import { h } from './dom.js';

const W = 720;

function defs() {
	return h('svg:defs', {},
		h('svg:pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse',
			patternTransform: 'rotate(45)' },
		h('svg:rect', { width: 6, height: 6, class: 'hatch-bg' }),
		h('svg:line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' })),
		h('svg:pattern', { id: 'dots', width: 5, height: 5, patternUnits: 'userSpaceOnUse' },
			h('svg:rect', { width: 5, height: 5, class: 'dots-bg' }),
			h('svg:circle', { cx: 2.5, cy: 2.5, r: 1.1, class: 'dots-dot' })));
}

// The funnel: one row per step; the bar is everyone who reached the step,
// split into those who went on (solid), those still on it (hatched) and
// those who dropped there (dotted); numbers written beside it.
export function funnelChart(f) {
	const rows = f.steps;
	const rowH = 34;
	const left = 170;
	const right = 150;
	const height = rows.length * rowH + 40;
	const max = Math.max(1, ...rows.map((s) => s.reached));
	const scale = (n) => (n / max) * (W - left - right);
	const svg = h('svg:svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart funnel-chart',
		role: 'img', 'aria-labelledby': 'funnel-title' },
	h('svg:title', { id: 'funnel-title' }, `Funnel of ${f.project}: participants reaching each step`),
	defs());
	rows.forEach((s, i) => {
		const y = 10 + i * rowH;
		const label = `${s.step}. ${s.final ? 'final: ' : ''}${s.file || ''}`;
		svg.append(h('svg:text', { x: left - 8, y: y + 17, class: 'chart-label', 'text-anchor': 'end' },
			label.length > 24 ? `${label.slice(0, 23)}…` : label));
		const went = s.final ? s.reached : s.continued;
		const still = s.final ? 0 : s.inProgress;
		const gone = s.final ? 0 : s.dropped;
		let x = left;
		for (const [n, cls, what] of [[went, 'bar-went', s.final ? 'finished' : 'went on'],
			[still, 'bar-here', 'on this step now'], [gone, 'bar-dropped', 'dropped here']]) {
			if (n > 0) {
				const w = Math.max(1, scale(n));
				svg.append(h('svg:rect', { x, y: y + 4, width: w, height: rowH - 12, class: cls },
					h('svg:title', {}, `${n} ${what}`)));
				x += w;
			}
		}
		svg.append(h('svg:text', { x: x + 6, y: y + 17, class: 'chart-value' },
			`${s.reached}${s.final ? ' finished' : ` reached · ${s.dropped} dropped`}`));
	});
	const ly = height - 16;
	let lx = left;
	for (const [cls, text] of [['bar-went', 'went on / finished'], ['bar-here', 'on the step now'],
		['bar-dropped', 'dropped (idle)']]) {
		svg.append(h('svg:rect', { x: lx, y: ly - 10, width: 14, height: 12, class: cls }));
		svg.append(h('svg:text', { x: lx + 18, y: ly, class: 'chart-legend' }, text));
		lx += 165;
	}
	return svg;
}

// A line of VALUES (numbers) with points; LABEL for the title.
export function lineChart(values, label, { yLabel = '' } = {}) {
	const H = 200;
	const pad = { l: 56, r: 16, t: 14, b: 30 };
	const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart line-chart', role: 'img',
		'aria-label': label }, h('svg:title', {}, label));
	if (!values.length)
		return svg;
	let lo = Math.min(0, ...values);
	let hi = Math.max(...values);
	if (hi === lo)
		hi = lo + 1;
	const x = (i) => pad.l + (values.length === 1 ? 0 : (i / (values.length - 1)) * (W - pad.l - pad.r));
	const y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
	svg.append(h('svg:line', { x1: pad.l, y1: y(lo), x2: W - pad.r, y2: y(lo), class: 'axis' }));
	svg.append(h('svg:line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: 'axis' }));
	for (const v of [lo, hi])
		svg.append(h('svg:text', { x: pad.l - 6, y: y(v) + 4, class: 'chart-axis', 'text-anchor': 'end' },
			Number(v.toFixed(2)).toString()));
	svg.append(h('svg:text', { x: pad.l, y: H - 8, class: 'chart-axis' }, '1'));
	svg.append(h('svg:text', { x: W - pad.r, y: H - 8, class: 'chart-axis', 'text-anchor': 'end' },
		String(values.length)));
	if (yLabel)
		svg.append(h('svg:text', { x: pad.l + 4, y: pad.t + 10, class: 'chart-axis' }, yLabel));
	svg.append(h('svg:polyline', { class: 'line', fill: 'none',
		points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }));
	values.forEach((v, i) => svg.append(h('svg:circle', { cx: x(i), cy: y(v), r: 3.5, class: 'point' },
		h('svg:title', {}, `${i + 1}: ${v}`))));
	return svg;
}
