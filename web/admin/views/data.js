// Data: each study's download (participants.json, the CSV tables of
// hippo export and the record files, as a tar.gz the server streams), for
// everyone or only the participants who completed the study.

import { api, token } from '../api.js';
import { fmtInt, h } from '../dom.js';
import { showNotice } from '../app.js';

async function fetchArchive(id, state, out) {
	const r = await fetch(`/api/projects/${encodeURIComponent(id)}/data.tar.gz${state ? `?state=${state}` : ''}`,
		{ headers: { Authorization: `Bearer ${token()}` }, cache: 'no-store' });
	if (!r.ok) {
		let msg = `status ${r.status}`;
		try {
			msg = (await r.json()).error || msg;
		} catch (e) {
			// not JSON
		}
		throw new Error(msg);
	}
	const reader = r.body.getReader();
	const parts = [];
	let n = 0;
	for (;;) {
		const { value, done } = await reader.read();
		if (done)
			break;
		parts.push(value);
		n += value.length;
		out.textContent = `${fmtInt(n)} bytes…`;
	}
	out.textContent = `${fmtInt(n)} bytes`;
	const url = URL.createObjectURL(new Blob(parts, { type: 'application/gzip' }));
	const a = h('a', { href: url, download: `${id}${state ? `-${state}` : ''}.tar.gz` });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export async function render(main, [only]) {
	const { studies } = await api('studies');
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Data'),
		h('p', { class: 'muted' }, 'A tar.gz per study: participants.json, the analysis tables ' +
			'(participants, answers, steps, episodes as CSV, as hippo export writes them) and the record files. ' +
			'Prepared and compressed by the server beside the games, streamed as it is made.')));
	for (const s of studies.filter((x) => !only || x.id === only)) {
		const out = h('span', { class: 'muted', 'data-k': 'progress' });
		const btn = (label, state) => {
			const b = h('button', { type: 'button', class: state ? 'btn btn--quiet' : 'btn', 'data-state': state || 'all' }, label);
			b.addEventListener('click', async () => {
				b.disabled = true;
				try {
					await fetchArchive(s.id, state, out);
				} catch (e) {
					showNotice(`Download of ${s.id} failed: ${e.message}`);
				} finally {
					b.disabled = false;
				}
			});
			return b;
		};
		main.append(h('article', { class: 'card', 'data-study': s.id },
			h('h2', {}, s.name || s.id),
			h('p', { class: 'muted' }, `${fmtInt(s.started)} participants, ${fmtInt(s.completed)} completed`),
			h('p', { class: 'actions' }, btn('Download everything', ''), btn('Completed only', 'completed'),
				btn('Not completed', 'active'), out)));
	}
}
