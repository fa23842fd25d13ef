// One participant: state, answers per step (shown as text, whatever they
// hold), the timeline of requests and sessions, episodes with their returns
// (a chart), frame rate and round trip, files to download.

import { api, download } from '../api.js';
import { fmtMs, fmtTime, h } from '../dom.js';
import { lineChart } from '../chart.js';
import { showNotice } from '../app.js';
import { withdrawButton } from './withdraw.js';

function section(title, ...content) {
	return h('section', { class: 'card' }, h('h2', {}, title), ...content);
}

function answersBlock(p) {
	if (!p.answers.length)
		return h('p', { class: 'muted' }, 'No answers.');
	const steps = [...new Set(p.answers.map((a) => a.step))];
	return steps.map((s) => h('div', { class: 'table-box' },
		h('table', { class: 'table answers', 'data-step': s },
			h('caption', {}, `Step ${s}`),
			h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Answer'),
				h('th', { scope: 'col' }, 'Time'))),
			h('tbody', {}, p.answers.filter((a) => a.step === s).map((a) => h('tr', {},
				h('th', { scope: 'row', class: 'mono' }, a.field),
				h('td', { class: 'answer' }, a.value === null ? '(null)' : a.value),
				h('td', { class: 'small' }, fmtTime(a.time))))))));
}

function timeline(p) {
	const ev = [];
	for (const r of p.requests)
		ev.push([r.time, `${r.method} /next → step ${r.step}${r.repeats ? ` (and ${r.repeats} more until ${fmtTime(r.last)})` : ''}`]);
	for (const s of p.sessions) {
		ev.push([s.started, `game session started (step ${s.step})`]);
		if (s.stopped)
			ev.push([s.stopped, `game session ended: ${s.reason || '?'}`]);
	}
	ev.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
	return h('ol', { class: 'timeline', id: 'timeline' }, ev.map(([t, what]) =>
		h('li', {}, h('time', { datetime: t }, fmtTime(t)), h('span', {}, what))));
}

export async function render(main, [project, user]) {
	const pid = encodeURIComponent(project);
	const uid = encodeURIComponent(user);
	const p = await api(`projects/${pid}/participants/${uid}`);
	const live = p.live && ['running', 'paused', 'ready'].includes(p.live.state);
	main.append(h('div', { class: 'page-head' },
		h('h1', {}, `Participant ${p.userId}`),
		h('p', {}, h('a', { href: `#/participants/${pid}` }, '← Participants'), ' · ',
			h('span', { class: p.status === 'completed' ? 'tag tag--ok' : 'tag' }, p.status),
			` step ${p.step} · game session: ${p.live ? p.live.state : 'none'}`,
			live ? [' · ', h('a', { class: 'btn', href: `#/spectate/${pid}/${uid}`, id: 'spectate' }, 'Spectate')] : null)));
	main.append(h('div', { class: 'cols' },
		section('Participant', h('dl', { class: 'kv', id: 'facts' },
			h('dt', {}, 'Started'), h('dd', {}, fmtTime(p.created)),
			h('dt', {}, 'Last step change'), h('dd', {}, fmtTime(p.updated)),
			h('dt', {}, 'Groups'), h('dd', {}, p.groups.length ? p.groups.map((g) => `${g.group} of ${g.variants}`).join(', ') : 'none'),
			h('dt', {}, 'Crowd ids'), h('dd', { class: 'mono' }, p.crowd ? Object.entries(p.crowd).map(([k, v]) => `${k}=${v}`).join(' ') : 'none'))),
		section('Timeline', timeline(p))));
	main.append(section('Answers', h('div', { id: 'answers' }, answersBlock(p))));
	main.append(section('Sessions', h('div', { class: 'table-box' }, h('table', { class: 'table', id: 'sessions' },
		h('thead', {}, h('tr', {}, ['Step', 'Started', 'Ended', 'Reason', 'Files'].map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', {}, p.sessions.length ? p.sessions.map((s) => h('tr', {},
			h('td', {}, String(s.step)), h('td', {}, fmtTime(s.started)), h('td', {}, s.stopped ? fmtTime(s.stopped) : 'running'),
			h('td', {}, s.reason || '–'), h('td', { class: 'small' }, s.files.join(', '))))
			: h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No game session.')))))));
	const returns = p.episodes.map((e) => e.return);
	main.append(section('Episodes',
		p.episodes.length ? lineChart(returns, `Return of each episode of ${p.userId}`, { yLabel: 'return' }) : null,
		h('div', { class: 'table-box' }, h('table', { class: 'table', id: 'episodes' },
			h('thead', {}, h('tr', {}, ['Trial', 'Episode', 'Steps', 'Return', 'Duration', 'Frame rate', 'Round trip',
				'Feedback', ''].map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', {}, p.episodes.length ? p.episodes.map((e) => h('tr', { 'data-episode': e.episode },
				h('td', { class: 'mono small' }, e.trialId), h('td', { class: 'num' }, String(e.episode)),
				h('td', { class: 'num' }, String(e.steps)), h('td', { class: 'num', 'data-k': 'return' }, String(e.return)),
				h('td', {}, fmtMs(e.durationMs)),
				h('td', {}, e.fps ? `${e.fps} / ${e.targetFps} fps` : '–'),
				h('td', {}, e.rttMs !== null ? `${e.rttMs} ms` : '–'),
				h('td', {}, `${e.feedbackGood} good, ${e.feedbackBad} bad`),
				h('td', {}, h('a', { class: 'btn btn--quiet', href: `#/replay/${pid}/${uid}/${encodeURIComponent(e.trialId)}/${e.episode}` }, 'Replay'))))
				: h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No recorded episode.')))))));
	main.append(section('Files', h('ul', { id: 'files' }, p.files.length ? p.files.map((f) => h('li', {},
		h('button', { type: 'button', class: 'btn btn--quiet', 'data-file': f.name, onclick: async () => {
			try {
				await download(`projects/${pid}/participants/${uid}/files/${encodeURIComponent(f.name)}`, f.name);
			} catch (e) {
				showNotice(e.message);
			}
		} }, f.name), ` ${f.size.toLocaleString('en-US')} bytes`)) : h('li', { class: 'muted' }, 'No file.'))));
	main.append(section('Withdrawal', h('p', { class: 'muted' }, 'Deletes this participant\'s data everywhere: ' +
		'the participant store, their record files, and their uploads (spooled and already in S3). ' +
		'An audit entry records who did it, when, and the hashes of what was deleted.'),
	withdrawButton(project, user, () => { location.hash = `#/participants/${pid}`; })));
}
