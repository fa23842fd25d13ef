// The participants of a study: a page of the table at a time, newest first,
// filtered by step, state, group and a text in the userId or the
// crowdsourcing ids; the researchers' preview participants only when asked.

import { api } from '../api.js';
import { clear, fmtInt, fmtTime, h } from '../dom.js';

const PAGE = 50;

function crowdText(c) {
	return c ? Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ') : '';
}

export async function render(main, [project]) {
	const id = encodeURIComponent(project);
	const { studies } = await api('studies');
	const study = studies.find((s) => s.id === project);
	if (!study)
		throw new Error(`No study ${project}.`);
	const step = h('select', { id: 'f-step' }, h('option', { value: '' }, 'any'),
		study.steps.map((s) => h('option', { value: s.step }, `${s.step}. ${s.final ? 'final: ' : ''}${s.file}`)));
	const status = h('select', { id: 'f-status' }, h('option', { value: '' }, 'any'),
		h('option', { value: 'active' }, 'not completed'), h('option', { value: 'completed' }, 'completed'),
		h('option', { value: 'dropped' }, 'dropped (idle)'));
	const group = h('select', { id: 'f-group' }, h('option', { value: '' }, 'any'),
		study.groups.flatMap((g) => g.sizes.map((n, i) => h('option', { value: `${g.variants}:${i}` },
			`${i} of ${g.variants} (${n})`))));
	const search = h('input', { id: 'f-q', type: 'search', placeholder: 'userId or crowd id', maxlength: 256 });
	const previews = h('input', { id: 'f-preview', type: 'checkbox' });
	const tbody = h('tbody');
	const info = h('span', { id: 'page-info', class: 'muted' });
	const prev = h('button', { type: 'button', class: 'btn btn--quiet', id: 'prev' }, '← Newer');
	const next = h('button', { type: 'button', class: 'btn btn--quiet', id: 'next' }, 'Older →');
	let offset = 0;
	let total = 0;

	const load = async () => {
		const q = new URLSearchParams({ offset, limit: PAGE });
		if (step.value)
			q.set('step', step.value);
		if (status.value)
			q.set('status', status.value);
		if (group.value)
			q.set('group', group.value);
		if (search.value.trim())
			q.set('q', search.value.trim());
		if (previews.checked)
			q.set('preview', '1');
		const r = await api(`projects/${id}/participant-list?${q}`);
		total = r.total;
		clear(tbody);
		for (const p of r.rows) {
			tbody.append(h('tr', { 'data-user': p.userId },
				h('td', {}, h('a', { href: `#/participant/${id}/${encodeURIComponent(p.userId)}` }, p.userId),
					p.preview ? [' ', h('span', { class: 'tag', 'data-k': 'preview' }, 'preview')] : null),
				h('td', { class: 'num' }, String(p.step)),
				h('td', {}, p.status === 'completed' ? h('span', { class: 'tag tag--ok' }, 'completed') : p.status),
				h('td', {}, p.groups || '–'),
				h('td', {}, fmtTime(p.created)),
				h('td', {}, fmtTime(p.updated)),
				h('td', { class: 'num' }, String(p.sessions)),
				h('td', {}, p.lastReason || '–'),
				h('td', { class: 'small' }, crowdText(p.crowd))));
		}
		if (!r.rows.length)
			tbody.append(h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No participant matches.')));
		info.textContent = total ? `${fmtInt(offset + 1)}–${fmtInt(offset + r.rows.length)} of ${fmtInt(total)}`
			: '0 participants';
		prev.disabled = offset === 0;
		next.disabled = offset + PAGE >= total;
	};
	const refilter = () => {
		offset = 0;
		load();
	};
	for (const el of [step, status, group, previews])
		el.addEventListener('change', refilter);
	let typing = null;
	search.addEventListener('input', () => {
		clearTimeout(typing);
		typing = setTimeout(refilter, 300);
	});
	prev.addEventListener('click', () => {
		offset = Math.max(0, offset - PAGE);
		load();
	});
	next.addEventListener('click', () => {
		offset += PAGE;
		load();
	});
	main.append(
		h('div', { class: 'page-head' }, h('h1', {}, `Participants: ${study.name || project}`),
			h('p', {}, h('a', { href: '#/studies' }, '← Studies'), ' · ', h('a', { href: `#/funnel/${id}` }, 'Funnel'))),
		h('form', { class: 'card filters', id: 'filters', onsubmit: (e) => { e.preventDefault(); refilter(); } },
			h('label', {}, 'Step', step), h('label', {}, 'State', status), h('label', {}, 'Group', group),
			h('label', {}, 'Search', search),
			h('label', { class: 'check', title: 'Participants who came through the study\'s preview link: in no group, not counted' },
				previews, ' Previews too')),
		h('div', { class: 'card table-box' }, h('table', { class: 'table', id: 'participants' },
			h('thead', {}, h('tr', {}, ['userId', 'Step', 'State', 'Groups', 'Started', 'Last step change',
				'Sessions', 'Last session end', 'Crowd ids'].map((t) => h('th', { scope: 'col' }, t)))),
			tbody)),
		h('div', { class: 'pager' }, prev, info, next));
	await load();
}
