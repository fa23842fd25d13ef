// What the game page shows: the layout, the frame (decoded off the main
// thread, newest first), the "Press Start" hint and the take-over message
// over it, the connection indicator, the frame-rate readout, and the
// display, feedback-budget and instructions panels. The controls panel's
// content is game-controls.js's.

import { el, showView } from './ui.js';
import { debugLog } from './debug.js';

function formatValue(v) {
	if (typeof v === 'number')
		return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
	if (v === null || v === undefined)
		return '';
	return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export class GameView {
	// OPTS: {onFirstFrame(): the overlay over the frame went away (a frame
	//        was drawn)}
	constructor(opts) {
		this.opts = opts;
		this.closed = false;
		this.frameId = 0;          // the frame on screen
		this.frameShownAt = 0;     // performance.now() when it appeared
		this.frameCount = 0;       // frames received
		this.pending = null;       // newest frame waiting to be decoded
		this.decoding = false;
		this.drawTimes = [];
		this.budget = null;
		this.build();
		this.fpsTimer = setInterval(() => this.updateFps(), 500);
	}

	// The page. Every panel keeps its place whether filled or not, so nothing
	// jumps when the first messages arrive.
	build() {
		this.connText = el('span', { className: 'conn__text', text: 'Connecting…' });
		this.conn = el('span', { className: 'conn conn--wait', id: 'conn', role: 'status' },
			el('span', { className: 'conn__dot', 'aria-hidden': 'true' }), this.connText);
		this.fps = el('span', { className: 'fps', id: 'fps', title: 'Frames shown per second',
			text: '– fps' });
		this.display = el('dl', { className: 'display', id: 'display', 'aria-live': 'off' });
		this.canvas = el('canvas', { className: 'frame', id: 'frame', width: 600, height: 400,
			role: 'img', 'aria-label': 'Game' });
		this.ctx = this.canvas.getContext('2d');
		this.overlay = el('div', { className: 'frame-box__overlay', text: 'Connecting…' });
		this.hint = el('div', { className: 'frame-box__hint', id: 'frame-hint', hidden: true });
		this.box = el('div', { className: 'frame-box', id: 'frame-box' }, this.canvas, this.hint,
			this.overlay);
		this.budgetBar = el('div', { className: 'budget__fill' });
		this.budgetText = el('span', { className: 'budget__text' });
		this.budgetEl = el('div', { className: 'budget', id: 'budget', hidden: true },
			el('span', { className: 'budget__label', text: 'Feedback budget' }),
			el('div', { className: 'budget__track', role: 'progressbar', 'aria-label': 'Feedback budget left' },
				this.budgetBar), this.budgetText);
		this.stage = el('div', { className: 'game__stage' }, this.box, this.budgetEl);
		this.controls = el('div', { className: 'controls', id: 'controls', role: 'group',
			'aria-label': 'Game controls' });
		this.instrList = el('ul', { className: 'instructions__list' });
		this.instructions = el('section', { className: 'panel instructions', id: 'instructions',
			hidden: true },
		el('h2', { className: 'panel__title', text: 'Instructions' }), this.instrList);
		this.keysHint = el('p', { className: 'keys-hint muted', id: 'keys-hint' });
		const page = el('section', { className: 'game', 'aria-label': 'Game' },
			el('div', { className: 'game__top' }, this.display,
				el('div', { className: 'game__status' }, this.fps, this.conn)),
			el('div', { className: 'game__body' },
				this.stage,
				el('aside', { className: 'game__side' },
					el('section', { className: 'panel' },
						el('h2', { className: 'panel__title', text: 'Controls' }),
						this.controls, this.keysHint),
					this.instructions)));
		showView('game', page);
		this.setAspect(600, 400);
	}

	// Stops the frame-rate readout and the drawing of frames still arriving.
	destroy() {
		this.closed = true;
		clearInterval(this.fpsTimer);
	}

	// The frame on screen, for the timing fields of every message.
	timing() {
		return { frameId: this.frameId, shownAt: this.frameShownAt, count: this.frameCount };
	}

	// The connection indicator (STATE: wait, ok, lost, done); the controls
	// are dimmed unless connected.
	setConn(state, text) {
		this.conn.className = `conn conn--${state}`;
		this.connText.textContent = text;
		this.controls.classList.toggle('controls--offline', state !== 'ok');
	}

	// Connected, no frame yet.
	waiting() {
		if (this.frameCount === 0)
			this.overlay.textContent = 'Waiting for the game…';
	}

	// Another window or tab took the game over: a message over the frame with
	// a button that calls AGAIN() to play here.
	takenOver(again) {
		const button = el('button', { type: 'button', className: 'btn btn--primary', id: 'play-here',
			text: 'Play here instead' });
		button.addEventListener('click', () => {
			this.overlay.hidden = this.frameCount > 0;
			this.overlay.replaceChildren('Connecting…');
			this.setConn('wait', 'Connecting…');
			again();
		});
		this.overlay.replaceChildren(el('div', { className: 'frame-box__message', role: 'alert' },
			el('p', { text: 'This game is now open in another window or tab.' }), button));
		this.overlay.hidden = false;
	}

	// Shows the newest frame: decoding is asynchronous, frames that arrive
	// meanwhile replace each other (a slow device drops frames, never lags).
	showFrame(blob, meta) {
		this.frameCount++;
		const id = Number.isInteger(meta.frameId) ? meta.frameId : this.frameCount;
		this.pending = { blob, id, border: meta.borderColor };
		if (!this.decoding)
			this.decodeLoop();
	}

	async decodeLoop() {
		this.decoding = true;
		while (this.pending && !this.closed) {
			const p = this.pending;
			this.pending = null;
			let bmp;
			try {
				bmp = await createImageBitmap(p.blob);
			} catch (e) {
				debugLog('info', 'ws', `frame ${p.id} could not be decoded`);
				continue;
			}
			if (this.closed) {
				bmp.close();
				break;
			}
			if (this.canvas.width !== bmp.width || this.canvas.height !== bmp.height) {
				this.canvas.width = bmp.width;
				this.canvas.height = bmp.height;
				this.setAspect(bmp.width, bmp.height);
			}
			this.ctx.drawImage(bmp, 0, 0);
			bmp.close();
			this.frameId = p.id;
			this.frameShownAt = performance.now();
			this.canvas.dataset.frameId = String(p.id);
			this.drawTimes.push(this.frameShownAt);
			if (!this.overlay.hidden) {
				this.overlay.hidden = true;
				this.opts.onFirstFrame();
			}
			if (typeof p.border === 'string' && CSS.supports('color', p.border))
				this.box.style.borderColor = p.border;
		}
		this.decoding = false;
	}

	setAspect(w, h) {
		this.stage.style.setProperty('--ar', String(w / h));
	}

	setWindowHints(msg) {
		const w = Number(msg.gameWindowWidth);
		const h = Number(msg.gameWindowHeight);
		if (w > 0)
			this.stage.style.setProperty('--hint-w', `${w}px`);
		if (w > 0 && h > 0 && this.frameCount === 0)
			this.setAspect(w, h);
		this.stage.classList.toggle('game__stage--strict', msg.gameWindowSize === 'strict');
	}

	updateFps() {
		const now = performance.now();
		while (this.drawTimes.length && this.drawTimes[0] < now - 2000)
			this.drawTimes.shift();
		this.fps.textContent = this.drawTimes.length ? `${Math.round(this.drawTimes.length / 2)} fps`
			: '– fps';
	}

	setDisplay(d) {
		for (const [k, v] of Object.entries(d)) {
			let row = this.display.querySelector(`[data-key="${CSS.escape(k)}"]`);
			if (!row) {
				row = el('div', { className: 'display__item', dataset: { key: k } },
					el('dt', { text: k }), el('dd'));
				this.display.append(row);
			}
			row.querySelector('dd').textContent = formatValue(v);
		}
	}

	setBudget(total, used) {
		if (typeof total === 'number')
			this.budget = { total, used: this.budget ? this.budget.used : 0 };
		if (!this.budget)
			return;
		if (typeof used === 'number')
			this.budget.used = used;
		const { total: t, used: u } = this.budget;
		const left = Math.max(0, t - u);
		const frac = t > 0 ? Math.min(1, left / t) : 0;
		this.budgetEl.hidden = false;
		this.budgetBar.style.width = `${Math.round(frac * 100)}%`;
		this.budgetBar.classList.toggle('budget__fill--low', frac < 0.2);
		const track = this.budgetBar.parentElement;
		track.setAttribute('aria-valuemin', '0');
		track.setAttribute('aria-valuemax', String(t));
		track.setAttribute('aria-valuenow', String(left));
		this.budgetText.textContent = `${left} of ${t} left`;
	}

	setInstructions(list) {
		this.instrList.replaceChildren(...list.map((s) => el('li', { text: formatValue(s) })));
		this.instructions.hidden = list.length === 0;
	}

	// "Press Start" (or "Paused: press Start to go on") over the frame.
	setHint(show, paused) {
		if (show)
			this.hint.textContent = paused ? 'Paused: press Start to go on' : 'Press Start to play';
		this.hint.hidden = !show;
	}
}
