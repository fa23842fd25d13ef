// Spectate: a participant's game as they see it, from the frames already
// encoded for them (the newest one wins when the page lags), with their
// inputs and feedback as they happen. Read-only: nothing goes back to the
// game. The server logs who watched whom, for how long.

import { adminName, events } from '../api.js';
import { clear, h } from '../dom.js';

function b64bytes(s) {
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++)
		out[i] = bin.charCodeAt(i);
	return out;
}

function inputText(m) {
	if (!m || typeof m !== 'object')
		return String(m);
	if (m.feedback)
		return `feedback: ${m.feedback}`;
	if (m.command)
		return `command: ${m.command}`;
	if (m.action !== undefined)
		return `${m.actionType || 'action'}: ${m.action}`;
	return JSON.stringify(m);
}

export async function render(main, [project, user]) {
	const pid = encodeURIComponent(project);
	const uid = encodeURIComponent(user);
	const canvas = h('canvas', { id: 'spectate-frame', width: 600, height: 400, 'aria-label': `The game of ${user}` });
	const ctx = canvas.getContext('2d');
	const state = h('dl', { class: 'kv', id: 'spectate-state' });
	const feed = h('ol', { class: 'feed', id: 'spectate-inputs', 'aria-live': 'off' });
	const status = h('p', { id: 'spectate-status', class: 'muted' }, 'Connecting…');
	main.append(h('div', { class: 'page-head' },
		h('h1', {}, `Spectating ${user}`),
		h('p', {}, h('a', { href: '#/live' }, '← Live sessions'), ' · ',
			h('a', { href: `#/participant/${pid}/${uid}` }, 'Participant'), ' · ',
			h('span', { class: 'tag' }, 'read-only'), ' Your viewing is logged.')),
	h('div', { class: 'card screen' },
		h('div', {}, canvas, status),
		h('div', { class: 'screen__side' }, h('h2', {}, 'State'), state,
			h('h2', {}, 'Inputs and feedback'), feed)));
	let frames = 0;
	let decoding = false;
	let pending = null;
	const draw = async (bytes, id) => {
		if (decoding) {
			pending = [bytes, id]; // newest wins
			return;
		}
		decoding = true;
		try {
			const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
			if (canvas.width !== bmp.width || canvas.height !== bmp.height) {
				canvas.width = bmp.width;
				canvas.height = bmp.height;
			}
			ctx.drawImage(bmp, 0, 0);
			bmp.close();
			frames++;
			canvas.dataset.frameId = id;
			canvas.dataset.frames = frames;
		} catch (e) {
			// a frame that does not decode is skipped
		}
		decoding = false;
		if (pending) {
			const [b, i] = pending;
			pending = null;
			draw(b, i);
		}
	};
	const showState = (s) => {
		clear(state).append(
			h('dt', {}, 'State'), h('dd', { 'data-k': 'state' }, s.playing ? 'playing' : s.state),
			h('dt', {}, 'Episode'), h('dd', { 'data-k': 'episode' }, `${s.episode} / ${s.maxEpisodes}`),
			h('dt', {}, 'Step'), h('dd', { 'data-k': 'step' }, String(s.step)),
			h('dt', {}, 'Score'), h('dd', {}, Number(s.score).toFixed(2)),
			h('dt', {}, 'Frame rate'), h('dd', { 'data-k': 'fps' }, `${Number(s.fps).toFixed(1)} / ${s.fpsTarget}`,
				s.slow ? [' ', h('span', { class: 'tag tag--warn' }, 'below 90 %')] : null),
			h('dt', {}, 'Round trip'), h('dd', {}, `${Number(s.rttMs).toFixed(1)} ms`),
			h('dt', {}, 'Frames shown here'), h('dd', {}, `${s.framesShown} (${s.framesSkipped} skipped)`));
	};
	const ctl = new AbortController();
	const q = new URLSearchParams({ viewer: adminName() });
	(async () => {
		try {
			await events(`projects/${pid}/participants/${uid}/spectate?${q}`, (ev, data) => {
				const d = JSON.parse(data);
				if (ev === 'frame') {
					status.textContent = `Frame ${d.id}`;
					draw(b64bytes(d.jpeg), d.id);
				} else if (ev === 'input') {
					const li = h('li', { class: d.msg && d.msg.feedback ? 'feedback' : '' },
						`${new Date(d.t).toLocaleTimeString('en-GB')}  ${inputText(d.msg)}`);
					feed.prepend(li);
					while (feed.children.length > 200)
						feed.lastChild.remove();
				} else if (ev === 'state') {
					showState(d);
				} else if (ev === 'end') {
					status.textContent = `Ended: ${d.reason}.`;
					status.id = 'spectate-ended';
				}
			}, ctl.signal);
		} catch (e) {
			if (!ctl.signal.aborted)
				status.textContent = e.message;
		}
	})();
	return () => ctl.abort();
}
