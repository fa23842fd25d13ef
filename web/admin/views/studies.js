// Studies: every project with its live switch, version, participants
// started / completed / dropped / in progress, its groups' sizes and its
// preview link; a new version deployed from the study folder's archive (zip
// or tar.gz), and a new study the same way. Refreshed every 5 s: each card's
// numbers are replaced, its deploy form stays (a chosen file is kept).

import { api, archiveType, deployArchive } from '../api.js';
import { clear, every, fmtInt, h } from '../dom.js';
import { showNotice } from '../app.js';

const MAX_BYTES = 4 * 1024 * 1024; // the server's request limit
const ID_RE = /^[A-Za-z0-9-]{1,64}$/;

function groupsText(groups) {
	if (!groups.length)
		return 'none';
	return groups.map((g) => `${g.variants} variants: ${g.sizes.join(' / ')}`).join('; ');
}

// The answer to a deploy in BOX, as text: the new version and its warnings,
// or the refusal with its diagnostics (file:line:col) or the entry refused.
function showResult(box, id, res) {
	clear(box);
	const b = res.body || {};
	if (res.ok) {
		const v = b.project && b.project.version;
		box.className = 'deploy__result verdict verdict--ok';
		box.append(h('p', {}, `Deployed ${id}: version ${v}.`));
		if (Array.isArray(b.warnings) && b.warnings.length)
			box.append(h('ul', { class: 'diags' }, b.warnings.map((w) => h('li', {}, String(w)))));
		return;
	}
	box.className = 'deploy__result verdict verdict--bad';
	box.append(h('p', {}, `Not deployed (${res.status}): ${typeof b.error === 'string' ? b.error
		: 'the server refused the archive.'}`));
	if (Array.isArray(b.diagnostics) && b.diagnostics.length)
		box.append(h('ul', { class: 'diags' }, b.diagnostics.map((d) => h('li', {}, String(d)))));
}

// A form deploying an archive to the study whose id ID() gives; DONE runs
// after a successful deploy.
function deployForm(key, idOf, done, withId) {
	const input = h('input', { type: 'file', id: `deploy-file-${key}`, class: 'deploy__file',
		accept: '.zip,.tar,.tar.gz,.tgz,application/zip,application/gzip,application/x-tar' });
	const button = h('button', { type: 'submit', class: 'btn' }, 'Deploy');
	const result = h('div', { class: 'deploy__result', role: 'status', 'aria-live': 'polite' });
	const idInput = withId ? h('input', { type: 'text', id: 'deploy-id', class: 'deploy__id',
		placeholder: 'study id', pattern: '[A-Za-z0-9\\-]{1,64}', maxlength: 64,
		spellcheck: 'false', autocomplete: 'off' }) : null;
	const form = h('form', { class: 'deploy', 'data-deploy': key },
		withId ? h('label', { for: 'deploy-id' }, 'Study id ',
			h('span', { class: 'muted small' }, '(project.id in its config.yml)')) : null,
		idInput,
		h('label', { for: `deploy-file-${key}` }, withId ? 'Study folder ' : 'New version ',
			h('span', { class: 'muted small' }, '(zip or tar.gz of the study folder)')),
		h('div', { class: 'deploy__row' }, input, button), result);
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		const id = idOf(idInput);
		const file = input.files && input.files[0];
		const local = (msg) => showResult(result, id, { ok: false, status: 0, body: { error: msg } });
		if (!ID_RE.test(id))
			return local('the study id is [A-Za-z0-9-]{1,64}.');
		if (!file)
			return local('choose the archive of the study folder first.');
		if (!archiveType(file.name))
			return local('choose a .zip, .tar, .tar.gz or .tgz file.');
		if (file.size > MAX_BYTES)
			return local(`the archive has ${fmtInt(file.size)} bytes; the server takes at most 4 MiB.`);
		button.disabled = true;
		clear(result);
		result.className = 'deploy__result muted';
		result.textContent = `Deploying ${file.name}…`;
		try {
			const res = await deployArchive(id, file);
			showResult(result, id, res);
			if (res.ok) {
				input.value = '';
				await done();
			}
		} catch (err) {
			local(err.message);
		} finally {
			button.disabled = false;
		}
	});
	return form;
}

// The part of a study's card that each refresh replaces.
function studyInfo(s, refresh) {
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
	return h('div', { class: 'study__info' },
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
			s.preview ? h('a', { class: 'btn btn--quiet preview-link', href: s.preview,
				target: '_blank', rel: 'noopener noreferrer',
				title: 'Runs the study as a preview participant: every step and the game, ' +
					'never counted in groups, counts, the funnel or the data' }, 'Preview ↗') : null));
}

export async function render(main) {
	const list = h('div', { class: 'studies', id: 'studies' });
	const note = h('p', { class: 'muted small' });
	const empty = h('p', { class: 'card muted' }, 'No study yet: deploy one below or with hippo deploy.');
	const cards = new Map(); // id -> {card, info}
	let refresh;
	const create = h('article', { class: 'card study study--new', id: 'new-study' },
		h('h2', {}, 'New study'),
		h('p', { class: 'muted small' }, 'Deploy a study folder (config.yml and StepFiles/) that ' +
			'this server does not serve yet. Problems are listed as file:line:col.'),
		deployForm('new', (idInput) => idInput.value.trim(), () => refresh(), true));
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Studies'), note), list, create);
	refresh = async () => {
		const r = await api('studies');
		const seen = new Set();
		const order = [];
		for (const s of r.studies) {
			seen.add(s.id);
			let c = cards.get(s.id);
			if (!c) {
				const deploy = deployForm(s.id, () => s.id, () => refresh(), false);
				const card = h('article', { class: 'card study', 'data-study': s.id });
				c = { card, info: null, deploy };
				cards.set(s.id, c);
			}
			const info = studyInfo(s, refresh);
			if (c.info)
				c.info.replaceWith(info);
			else
				c.card.append(info, c.deploy);
			c.info = info;
			order.push(c.card);
		}
		for (const [id, c] of cards)
			if (!seen.has(id)) {
				c.card.remove();
				cards.delete(id);
			}
		// (re)order only when it changed: moving a card would blur its form
		const now = [...list.children].filter((x) => x !== empty);
		if (now.length !== order.length || now.some((x, i) => x !== order[i])) {
			for (const card of order)
				list.append(card);
		}
		if (!r.studies.length && !empty.isConnected)
			list.append(empty);
		else if (r.studies.length && empty.isConnected)
			empty.remove();
		note.textContent = `Dropped: not completed and no step change for ${r.idleMinutes} min. ` +
			'Updated every 5 s.';
	};
	await refresh();
	const t = every(5000, () => refresh().catch((e) => showNotice(e.message)));
	return () => t.stop();
}
