// Studies: every project with its live switch, version, participants
// started / completed / dropped / in progress, and its groups' sizes.
// Refreshed every 5 s. A new version of a study is deployed by uploading its
// folder as a zip, tar or tar.gz archive; what hippo check would say about
// it is shown as text.

import { api, apiUpload } from '../api.js';
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
			h('a', { class: 'btn btn--quiet', href: `#/data/${id}` }, 'Data'),
			deployLink(s.id),
			s.preview ? h('a', { class: 'btn btn--quiet', href: s.preview, target: '_blank',
				rel: 'noopener', 'data-preview': s.id,
				title: 'Run the study as a preview participant: in no group, not counted, not exported' },
			'Preview') : ''));
}

let deployForm = null; // the page's deploy panel: {id, file}

function deployLink(study) {
	const b = h('button', { type: 'button', class: 'btn btn--quiet', 'data-deploy': study },
		'Deploy a new version…');
	b.addEventListener('click', () => {
		if (!deployForm)
			return;
		deployForm.id.value = study;
		deployForm.file.focus();
		deployForm.file.scrollIntoView({ block: 'nearest' });
	});
	return b;
}

function archiveType(name) {
	const n = name.toLowerCase();
	if (n.endsWith('.zip'))
		return 'application/zip';
	if (n.endsWith('.tar.gz') || n.endsWith('.tgz'))
		return 'application/gzip';
	if (n.endsWith('.tar'))
		return 'application/x-tar';
	return 'application/octet-stream';
}

// The deploy panel: a study id, an archive, the answer (diagnostics as text).
function deployPanel(refresh) {
	const id = h('input', { id: 'deploy-id', type: 'text', required: true, autocomplete: 'off',
		pattern: '[A-Za-z0-9\\-]{1,64}', 'aria-label': 'Study id' });
	const file = h('input', { id: 'deploy-file', type: 'file', accept: '.zip,.tar,.tar.gz,.tgz',
		'aria-label': 'Study folder as a zip, tar or tar.gz archive' });
	const go = h('button', { type: 'submit', class: 'btn', id: 'deploy-go' }, 'Deploy');
	const result = h('div', { id: 'deploy-result', 'aria-live': 'polite' });
	const form = h('form', { class: 'card deploy', id: 'deploy' },
		h('h2', {}, 'Deploy a new version'),
		h('p', { class: 'muted small' }, 'The study folder (config.yml and StepFiles/) as a zip, ' +
			'tar or tar.gz archive. It is checked as hippo check does; participants keep their data.'),
		h('div', { class: 'deploy__row' }, h('label', { for: 'deploy-id' }, 'Study id '), id,
			h('label', { for: 'deploy-file' }, ' Archive '), file, go),
		result);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const f = file.files[0];
		if (!f || !id.value)
			return;
		go.disabled = true;
		clear(result).append(h('p', { class: 'muted' }, `Deploying ${f.name}…`));
		try {
			const { status, json } = await apiUpload(`projects/${encodeURIComponent(id.value)}/deploy`,
				f, archiveType(f.name));
			clear(result);
			if (status === 200 && json) {
				const v = json.project ? json.project.version : '?';
				result.append(h('p', { class: 'verdict verdict--ok', 'data-deployed': v },
					`Deployed ${json.deployed}: version ${v}.`));
				const notes = [...(json.warnings || []), ...(json.skipped || []).map((n) => `skipped: ${n} (not deployed)`)];
				if (notes.length)
					result.append(h('ul', { class: 'diagnostics' }, notes.map((d) => h('li', {}, d))));
				await refresh();
			} else {
				result.append(h('p', { class: 'verdict verdict--bad', 'data-refused': status },
					`Not deployed (${status}): ${json && json.error ? json.error : 'refused'}`));
				const diags = (json && json.diagnostics) || [];
				if (diags.length)
					result.append(h('ul', { class: 'diagnostics', id: 'deploy-diagnostics' },
						diags.map((d) => h('li', {}, d))));
			}
		} catch (e) {
			clear(result).append(h('p', { class: 'verdict verdict--bad' }, e.message));
		} finally {
			go.disabled = false;
		}
	});
	deployForm = { id, file };
	return form;
}

export async function render(main) {
	const list = h('div', { class: 'studies', id: 'studies' });
	const note = h('p', { class: 'muted small' });
	let refresh = null;
	const panel = deployPanel(() => refresh());
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Studies'), note), list, panel);
	refresh = async () => {
		const r = await api('studies');
		if (!deployForm.id.value && r.studies.length)
			deployForm.id.value = r.studies[0].id;
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
