// Studies: every project with its live switch, version, participants
// started / completed / dropped / in progress, and its groups' sizes.
// Refreshed every 5 s.

import { api } from '../api.js';
import { clear, every, fmtInt, h } from '../dom.js';
import { showNotice } from '../app.js';

function groupsText(groups) {
	if (!groups.length)
		return 'none';
	return groups.map((g) => `${g.variants} variants: ${g.sizes.join(' / ')}`).join('; ');
}

function studyCard(s, refresh) {
	const toggle = h('input', { type: 'checkbox', role: 'switch', class: 'switch',
		id: `live-${s.id}`, checked: s.live, 'aria-describedby': `live-state-${s.id}` });
	const state = h('span', { id: `live-state-${s.id}`, class: s.live ? 'tag tag--ok' : 'tag' },
		s.live ? 'live' : 'not live');
	toggle.addEventListener('change', async () => {
		toggle.disabled = true;
		try {
			await api(`projects/${encodeURIComponent(s.id)}/live`, { method: 'POST',
				body: { live: toggle.checked } });
			await refresh();
		} catch (e) {
			toggle.checked = !toggle.checked;
			showNotice(`Could not switch ${s.id}: ${e.message}`);
		} finally {
			toggle.disabled = false;
		}
	});
	const id = encodeURIComponent(s.id);
	return h('article', { class: 'card study', 'data-study': s.id },
		h('header', { class: 'study__head' },
			h('div', {}, h('h2', {}, s.name || s.id), h('p', { class: 'muted' },
				`${s.id} · version ${s.version}${s.deployed ? ' (deployed)' : ''} · ${s.game || 'no game'}` +
				`${s.researcher ? ` · ${s.researcher}` : ''}`)),
			h('label', { class: 'switch-label', for: `live-${s.id}` }, toggle, ' Serving ', state)),
		h('dl', { class: 'stats' },
			h('div', {}, h('dt', {}, 'Started'), h('dd', { 'data-k': 'started' }, fmtInt(s.started))),
			h('div', {}, h('dt', {}, 'Completed'), h('dd', { 'data-k': 'completed' }, fmtInt(s.completed))),
			h('div', {}, h('dt', {}, 'In progress'), h('dd', { 'data-k': 'inProgress' }, fmtInt(s.inProgress))),
			h('div', {}, h('dt', {}, 'Dropped'), h('dd', { 'data-k': 'dropped' }, fmtInt(s.dropped))),
			h('div', {}, h('dt', {}, 'Steps'), h('dd', {}, String(s.totalSteps)))),
		h('p', { class: 'groups' }, h('strong', {}, 'Groups: '), groupsText(s.groups)),
		h('p', { class: 'actions' },
			h('a', { class: 'btn', href: `#/funnel/${id}` }, 'Funnel'),
			h('a', { class: 'btn', href: `#/participants/${id}` }, 'Participants'),
			h('a', { class: 'btn btn--quiet', href: `#/data/${id}` }, 'Data')));
}

export async function render(main) {
	const list = h('div', { class: 'studies', id: 'studies' });
	const note = h('p', { class: 'muted small' });
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Studies'), note), list);
	const refresh = async () => {
		const r = await api('studies');
		clear(list);
		if (!r.studies.length)
			list.append(h('p', { class: 'card muted' }, 'No study yet: deploy one with hippo deploy.'));
		for (const s of r.studies)
			list.append(studyCard(s, refresh));
		note.textContent = `Dropped: not completed and no step change for ${r.idleMinutes} min. ` +
			'Updated every 5 s.';
	};
	await refresh();
	const t = every(5000, () => refresh().catch((e) => showNotice(e.message)));
	return () => t.stop();
}
