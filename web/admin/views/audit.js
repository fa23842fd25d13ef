// The audit log: withdrawals, spectated sessions and drained nodes, newest first.

import { api } from '../api.js';
import { fmtTime, h } from '../dom.js';

function what(e) {
	if (e.action === 'withdraw') {
		const d = e.deleted || {};
		return `withdrew ${e.project}/${e.userId}: ${d.rows} rows, ${(d.files || []).length} files, ` +
			`${(d.uploads || []).length} uploads${e.complete ? '' : ' (incomplete: see the entry)'}`;
	}
	if (e.action === 'spectate')
		return `watched ${e.project}/${e.userId} for ${e.seconds} s (${e.frames} frames)`;
	if (e.action === 'drain')
		return `asked node ${e.node} to drain`;
	return e.action;
}

export async function render(main) {
	const list = await api('audit?limit=500');
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Audit log'),
		h('p', { class: 'muted' }, 'DATA/audit.jsonl: every withdrawal, spectated session and node drain, newest first.')),
	h('div', { class: 'card table-box' }, h('table', { class: 'table', id: 'audit' },
		h('thead', {}, h('tr', {}, ['When', 'Who', 'From', 'What', 'Entry'].map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', {}, list.length ? list.map((e) => h('tr', { 'data-action': e.action },
			h('td', {}, fmtTime(e.time)),
			h('td', {}, (e.by && e.by.name) || '–'),
			h('td', {}, (e.by && (e.by.address || e.by.via)) || '–'),
			h('td', {}, what(e)),
			h('td', {}, h('details', {}, h('summary', {}, e.id), h('pre', { class: 'mono small' }, JSON.stringify(e, null, 2))))))
			: h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nothing yet.'))))));
}
