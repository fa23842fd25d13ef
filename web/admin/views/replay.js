// Replay of a recorded episode: play, pause, seek, speed; the timeline of
// actions, inputs and feedback. A built-in environment is re-simulated
// from the recorded seed and actions and drawn by the server, and every
// step is compared with the record bit for bit (the page says whether they
// match and where they first differ); an external environment shows the
// recorded observation, action and reward of each step, and the frames the
// participant was sent when the study kept them (trial.recordFrames).

import { api, apiBlob } from '../api.js';
import { clear, fmtMs, h } from '../dom.js';

function inputText(m) {
	if (!m || typeof m !== 'object')
		return String(m);
	if (m.feedback)
		return `feedback ${m.feedback}`;
	if (m.command)
		return `command ${m.command}`;
	if (m.action !== undefined)
		return `${m.actionType || 'action'} ${m.action}`;
	return JSON.stringify(m);
}

export async function render(main, [project, user, trial, episode]) {
	const pid = encodeURIComponent(project);
	const uid = encodeURIComponent(user);
	const base = `projects/${pid}/participants/${uid}/replay`;
	const q = `trial=${encodeURIComponent(trial)}&episode=${encodeURIComponent(episode)}`;
	const r = await api(`${base}?${q}`);
	const tl = r.timeline;
	const last = tl.length ? tl[tl.length - 1].step : 0;
	const verdict = h('p', { id: 'replay-verdict', class: 'verdict' });
	const recorded = !r.simulated && r.recordedFrames > 0;
	if (recorded) {
		verdict.className = 'verdict verdict--info';
		verdict.dataset.frames = 'recorded';
		verdict.textContent = 'An external environment cannot be re-simulated: shown are the ' +
			`${r.recordedFrames} frames the participant was sent (trial.recordFrames) and the recorded timeline.`;
	} else if (!r.simulated) {
		verdict.className = 'verdict verdict--info';
		verdict.textContent = `Not re-simulated: ${r.why}. The recorded timeline is shown.`;
	} else if (r.matches) {
		verdict.className = 'verdict verdict--ok';
		verdict.dataset.match = 'yes';
		verdict.textContent = `Re-simulated ${r.env} from the recorded seed and actions: all ${r.compared} ` +
			'recorded steps match the re-simulation bit for bit.';
	} else {
		verdict.className = 'verdict verdict--bad';
		verdict.dataset.match = 'no';
		verdict.textContent = `The re-simulation does NOT match the record at step ${r.mismatch.step}: ` +
			`${r.mismatch.why}. Frames from there on show the re-simulation, not what the participant saw.`;
	}
	const canvas = h('canvas', { id: 'replay-frame', width: r.width || 600, height: r.height || 400,
		'aria-label': 'The replayed frame' });
	const ctx = canvas.getContext('2d');
	const seek = h('input', { id: 'replay-seek', type: 'range', min: 0, max: last, value: 0,
		'aria-label': 'Step' });
	const stepOut = h('output', { id: 'replay-step', for: 'replay-seek' }, `step 0 / ${last}`);
	const play = h('button', { type: 'button', class: 'btn', id: 'replay-play' }, 'Play');
	const speed = h('select', { id: 'replay-speed', 'aria-label': 'Speed' },
		['0.25', '0.5', '1', '2', '4'].map((s) => h('option', { value: s, selected: s === '1' }, `${s}×`)));
	const detail = h('dl', { class: 'kv', id: 'replay-detail' });
	const feed = h('ol', { class: 'feed', id: 'replay-timeline' });
	const rows = new Map();
	for (const e of tl) {
		const parts = [];
		if (e.reset)
			parts.push('reset');
		else
			parts.push(`${e.actionName || e.action}  reward ${e.reward}${e.terminated ? '  terminated' : ''}${e.truncated ? '  truncated' : ''}`);
		for (const i of e.inputs || [])
			parts.push(`  ← ${inputText(i.msg)}`);
		const li = h('li', { 'data-step': e.step, class: (e.inputs || []).some((i) => i.msg && i.msg.feedback) ? 'feedback' : '' },
			`${String(e.step).padStart(4)}  ${parts.join('\n')}`);
		li.addEventListener('click', () => go(e.step));
		rows.set(e.step, li);
		feed.append(li);
	}
	const fps = (tl.find((e) => e.fps) || {}).fps || 30;
	let cur = 0;
	let timer = null;
	let drawing = null;
	const showDetail = (e) => {
		clear(detail);
		if (!e)
			return;
		const ret = tl.filter((x) => x.step <= e.step).reduce((a, x) => a + (x.reward || 0), 0);
		detail.append(h('dt', {}, 'Step'), h('dd', {}, String(e.step)),
			h('dt', {}, 'Return so far'), h('dd', { 'data-k': 'return' }, String(Math.round(ret * 1000) / 1000)),
			h('dt', {}, 'Action'), h('dd', {}, e.reset ? '(reset)' : String(e.actionName || e.action)),
			h('dt', {}, 'Observation'), h('dd', { class: 'mono' }, e.observation ? e.observation.join(', ') : '–'),
			h('dt', {}, 'Time in episode'), h('dd', {}, fmtMs(e.t - tl[0].t)));
	};
	const drawFrame = async (step) => {
		if (!r.simulated && !recorded)
			return;
		if (drawing) {
			drawing.next = step; // newest wins
			return;
		}
		drawing = { next: null };
		try {
			const { blob } = await apiBlob(`${base}/frame.jpg?${q}&step=${step}`);
			const bmp = await createImageBitmap(blob);
			canvas.width = bmp.width;
			canvas.height = bmp.height;
			ctx.drawImage(bmp, 0, 0);
			bmp.close();
			canvas.dataset.step = step;
		} catch (e) {
			verdict.textContent += ` (frame ${step}: ${e.message})`;
		}
		const next = drawing.next;
		drawing = null;
		if (next !== null)
			drawFrame(next);
	};
	const go = (step) => {
		cur = Math.max(0, Math.min(last, step));
		seek.value = cur;
		stepOut.textContent = `step ${cur} / ${last}`;
		for (const li of feed.querySelectorAll('.current'))
			li.classList.remove('current');
		const li = rows.get(cur);
		if (li) {
			li.classList.add('current');
			li.scrollIntoView({ block: 'nearest' });
		}
		showDetail(tl.find((e) => e.step === cur));
		drawFrame(cur);
	};
	const stop = () => {
		clearInterval(timer);
		timer = null;
		play.textContent = 'Play';
	};
	const start = () => {
		if (cur >= last)
			go(0);
		play.textContent = 'Pause';
		timer = setInterval(() => {
			if (cur >= last)
				stop();
			else
				go(cur + 1);
		}, 1000 / (fps * Number(speed.value)));
	};
	play.addEventListener('click', () => (timer ? stop() : start()));
	speed.addEventListener('change', () => {
		if (timer) {
			stop();
			start();
		}
	});
	seek.addEventListener('input', () => {
		stop();
		go(Number(seek.value));
	});
	main.append(h('div', { class: 'page-head' },
		h('h1', {}, `Replay: ${user}, episode ${episode}`),
		h('p', {}, h('a', { href: `#/participant/${pid}/${uid}` }, '← Participant'),
			` · trial ${trial} · ${r.env}${r.source ? ` (${r.source})` : ''} · ${tl.length} record lines`)),
	verdict,
	h('div', { class: 'card screen' },
		h('div', {}, r.simulated || recorded ? canvas
			: h('p', { class: 'muted' }, 'No frames: see the observations.'),
			h('div', { class: 'player' }, play, seek, stepOut, speed)),
		h('div', { class: 'screen__side' }, h('h2', {}, 'This step'), detail,
			h('h2', {}, 'Timeline'), feed)));
	go(0);
	return stop;
}
