// Live sessions: every running game session, pushed once a second by the
// server (an event stream): step, episode, score, frame rate achieved
// against the target (flagged below 90 %), round trip, input-to-frame lag,
// dropped frames, reconnects, spectators.

import { events } from '../api.js';
import { clear, h } from '../dom.js';

function num(x, digits = 1) {
	return x === null || x === undefined ? '–' : Number(x).toFixed(digits);
}

export async function render(main) {
	const tbody = h('tbody');
	const summary = h('p', { id: 'live-summary', class: 'muted' }, 'Connecting…');
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Live sessions'), summary),
		h('div', { class: 'card table-box' }, h('table', { class: 'table', id: 'live' },
			h('thead', {}, h('tr', {}, ['Study', 'userId', 'State', 'Episode', 'Step', 'Score',
				'Frame rate', 'Round trip', 'Input lag', 'Dropped', 'Reconnects', 'Viewers', '']
				.map((t) => h('th', { scope: 'col' }, t)))),
			tbody)));
	const ctl = new AbortController();
	const show = (d) => {
		clear(tbody);
		let flagged = 0;
		for (const s of d.sessions) {
			flagged += s.slow ? 1 : 0;
			const pid = encodeURIComponent(s.project);
			const uid = encodeURIComponent(s.userId);
			tbody.append(h('tr', { class: s.slow ? 'flagged' : '', 'data-user': s.userId, 'data-slow': String(s.slow) },
				h('td', {}, s.project),
				h('td', {}, h('a', { href: `#/participant/${pid}/${uid}` }, s.userId)),
				h('td', {}, s.playing ? 'playing' : s.state),
				h('td', { class: 'num' }, `${s.episode} / ${s.maxEpisodes}`),
				h('td', { class: 'num' }, String(s.step)),
				h('td', { class: 'num' }, num(s.score, 2)),
				h('td', { class: 'num', 'data-k': 'fps' }, `${num(s.fps)} / ${s.fpsTarget}`,
					s.slow ? [' ', h('span', { class: 'tag tag--warn' }, 'below 90 %')] : null),
				h('td', { class: 'num' }, `${num(s.rttMs)} ms`),
				h('td', { class: 'num' }, s.lagMs ? `${num(s.lagMs)} ms` : '–'),
				h('td', { class: 'num' }, String(s.dropped)),
				h('td', { class: 'num' }, String(s.reconnects)),
				h('td', { class: 'num' }, String(s.viewers)),
				h('td', {}, h('a', { class: 'btn btn--quiet', href: `#/spectate/${pid}/${uid}` }, 'Spectate'))));
		}
		if (!d.sessions.length)
			tbody.append(h('tr', {}, h('td', { colspan: 13, class: 'muted' }, 'No game session is running.')));
		summary.textContent = `${d.sessions.length} session${d.sessions.length === 1 ? '' : 's'}, ` +
			`${flagged} below 90 % of their frame rate · updated ${new Date(d.at).toLocaleTimeString('en-GB')}`;
	};
	(async () => {
		let wait = 500;
		while (!ctl.signal.aborted) {
			try {
				await events('live', (ev, data) => {
					if (ev === 'sessions') {
						wait = 500;
						show(JSON.parse(data));
					}
				}, ctl.signal);
			} catch (e) {
				if (ctl.signal.aborted || e.status === 401)
					return;
				summary.textContent = `Reconnecting… (${e.message})`;
			}
			await new Promise((r) => setTimeout(r, wait));
			wait = Math.min(wait * 2, 8000);
		}
	})();
	return () => ctl.abort();
}
