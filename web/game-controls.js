// The participant's input to the game: the control panel built from the
// server's UI list (direction pad, command, feedback and frame-rate
// buttons), the keyboard, pointer events over the frame, page visibility,
// and whether a game was started (start/pause/stop pressed).

import { el } from './ui.js';

// Direction and fire keys, by KeyboardEvent.code (SPEC §3).
export const KEYMAP = {
	KeyW: 'up', ArrowUp: 'up', KeyS: 'down', ArrowDown: 'down',
	KeyA: 'left', ArrowLeft: 'left', KeyD: 'right', ArrowRight: 'right',
	KeyQ: 'leftUp', KeyE: 'rightUp', KeyZ: 'leftDown', KeyC: 'rightDown',
	Space: 'fire',
};

// The direction pad: a 3x3 grid, empty cells where a control is not listed.
const DPAD = [
	['leftUp', '↖', 'Up left'], ['up', '↑', 'Up'], ['rightUp', '↗', 'Up right'],
	['left', '←', 'Left'], ['fire', '●', 'Fire'], ['right', '→', 'Right'],
	['leftDown', '↙', 'Down left'], ['down', '↓', 'Down'], ['rightDown', '↘', 'Down right'],
];
const DIRECTIONS = new Set(['up', 'down', 'left', 'right', 'leftUp', 'rightUp', 'leftDown',
	'rightDown', 'fire']);
// Buttons that send {"command": name}, with their labels: [icon, text]. The
// icon is decoration (hidden from assistive technology): a button's name is
// its text.
const COMMANDS = {
	start: ['▶', 'Start'], pause: ['❚❚', 'Pause'], stop: ['■', 'Stop'], reset: ['↺', 'Reset'],
	trainOnline: [null, 'Train online'], trainOffline: [null, 'Train offline'],
};
const FEEDBACK = { good: ['✓', 'Good'], bad: ['✗', 'Bad'] };
const FPS = { fpsDown: ['−', 'Slower'], fpsUp: ['+', 'Faster'] };

function isTyping(t) {
	if (!t || !t.tagName)
		return false;
	if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')
		return true;
	if (t.tagName === 'INPUT')
		return !['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'image']
			.includes(t.type);
	return false;
}

// Browser and system names for the "start" command (as the original sent).
export function systemInfo() {
	const ua = navigator.userAgent;
	const pick = (re) => { const m = ua.match(re); return m ? m[1] : ''; };
	let browser = 'unknown';
	let browserVersion = '';
	for (const [name, re] of [['Edge', /Edg\/([\d.]+)/], ['Opera', /OPR\/([\d.]+)/],
		['Firefox', /Firefox\/([\d.]+)/], ['Chrome', /(?:Chrome|Chromium)\/([\d.]+)/],
		['Safari', /Version\/([\d.]+).*Safari/]]) {
		const v = pick(re);
		if (v) {
			browser = name;
			browserVersion = v;
			break;
		}
	}
	let system = 'unknown';
	let systemVersion = '';
	if (/Android/.test(ua)) {
		system = 'Android';
		systemVersion = pick(/Android ([\d.]+)/);
	} else if (/iPhone|iPad|iPod/.test(ua)) {
		system = 'iOS';
		systemVersion = pick(/OS ([\d_]+)/).replace(/_/g, '.');
	} else if (/Windows/.test(ua)) {
		system = 'Windows';
		systemVersion = pick(/Windows NT ([\d.]+)/);
	} else if (/Mac OS X/.test(ua)) {
		system = 'macOS';
		systemVersion = pick(/Mac OS X ([\d_.]+)/).replace(/_/g, '.');
	} else if (/CrOS/.test(ua)) {
		system = 'ChromeOS';
	} else if (/Linux/.test(ua)) {
		system = 'Linux';
	}
	return { system, systemVersion, browser, browserVersion };
}

export class Controls {
	// OPTS: {panel: the element the controls go in, keysHint: the element
	//        for the keyboard hint, canvas: the frame (pointer events),
	//        send(obj): sends a message to the game,
	//        connected(): whether the game was ever connected,
	//        onPlayState(): start, pause or stop was pressed}
	constructor(opts) {
		this.opts = opts;
		this.panel = opts.panel;
		this.canvas = opts.canvas;
		this.ui = new Set();
		this.held = [];            // keys held, in press order: {code, action}
		this.pointerDown = false;
		this.lastMove = 0;
		this.handlers = [];
		this.playing = false;      // a start was sent and no pause/stop since
		this.paused = false;       // the last of start/pause/stop was pause
		this.listen(window, 'keydown', (e) => this.onKeyDown(e));
		this.listen(window, 'keyup', (e) => this.onKeyUp(e));
		this.listen(window, 'blur', () => this.releaseAll());
		this.listen(document, 'visibilitychange', () => {
			if (document.visibilityState === 'hidden')
				this.releaseAll();
			this.send({ visibility: document.visibilityState });
		});
		this.listen(this.canvas, 'pointerdown', (e) => this.onPointer(e, 'mouse down'));
		this.listen(this.canvas, 'pointermove', (e) => this.onPointer(e, 'mouse move'));
		this.listen(this.canvas, 'pointerup', (e) => this.onPointer(e, 'mouse up'));
	}

	listen(target, type, fn) {
		target.addEventListener(type, fn);
		this.handlers.push([target, type, fn]);
	}

	// Removes the keyboard, visibility and pointer listeners.
	destroy() {
		for (const [t, type, fn] of this.handlers)
			t.removeEventListener(type, fn);
		this.handlers = [];
	}

	send(obj) {
		return this.opts.send(obj);
	}

	// The server's UI list: the controls render() shows.
	setUi(list) {
		this.ui = new Set(list.filter((x) => typeof x === 'string'));
	}

	// Builds the control panel: only the controls the server listed.
	render() {
		const ui = this.ui;
		const parts = [];
		if (DPAD.some(([n]) => ui.has(n))) {
			const pad = el('div', { className: 'dpad' });
			for (const [name, glyph, label] of DPAD) {
				if (ui.has(name))
					pad.append(this.actionButton(name, glyph, label));
				else
					pad.append(el('span', { className: 'dpad__empty', 'aria-hidden': 'true' }));
			}
			// A pad with only left/right (CartPole) needs one row, not three.
			const rows = [0, 1, 2].filter((r) => DPAD.slice(r * 3, r * 3 + 3).some(([n]) => ui.has(n)));
			pad.dataset.rows = rows.join('');
			for (let r = 0; r < 3; r++)
				if (!rows.includes(r))
					for (const c of Array.from(pad.children).slice(r * 3, r * 3 + 3))
						c.classList.add('dpad__cell--unused');
			parts.push(pad);
		}
		const cmds = el('div', { className: 'buttons' });
		for (const [name, label] of Object.entries(COMMANDS))
			if (ui.has(name))
				cmds.append(this.commandButton(name, label, { command: name }));
		for (const [name, label] of Object.entries(FEEDBACK))
			if (ui.has(name))
				cmds.append(this.commandButton(name, label, { feedback: name }, `btn--${name}`));
		for (const [name, label] of Object.entries(FPS))
			if (ui.has(name))
				cmds.append(this.commandButton(name, label,
					{ changeFrameRate: name === 'fpsUp' ? 'faster' : 'slower' }));
		// Other names: custom commands, recorded by the server.
		for (const name of ui)
			if (!DIRECTIONS.has(name) && !(name in COMMANDS) && !(name in FEEDBACK) &&
				!(name in FPS) && name !== 'fpsSet' && name !== 'requestUI')
				cmds.append(this.commandButton(name, [null, name], { command: name }));
		if (cmds.childElementCount)
			parts.push(cmds);
		if (ui.has('fpsSet')) {
			const input = el('input', { type: 'number', min: 1, max: 90, step: 1, value: 30,
				id: 'fps-set', className: 'fps-set__input', inputmode: 'numeric' });
			const form = el('form', { className: 'fps-set', dataset: { control: 'fpsSet' } },
				el('label', { for: 'fps-set', text: 'Frame rate' }), input,
				el('button', { type: 'submit', className: 'btn', text: 'Set' }));
			form.addEventListener('submit', (e) => {
				e.preventDefault();
				if (input.value !== '')
					this.send({ changeFrameRate: String(input.value) });
			});
			parts.push(form);
		}
		if (parts.length === 0)
			parts.push(el('p', { className: 'muted', text: this.opts.connected() ? 'No controls for this game.'
				: 'Controls appear when the game is connected.' }));
		this.panel.replaceChildren(...parts);
		const keys = [];
		if (['up', 'down', 'left', 'right'].some((n) => ui.has(n)))
			keys.push('arrow keys or W A S D to move');
		if (['leftUp', 'rightUp', 'leftDown', 'rightDown'].some((n) => ui.has(n)))
			keys.push('Q E Z C for diagonals');
		if (ui.has('fire'))
			keys.push('space to fire');
		this.opts.keysHint.textContent = keys.length ? `Keyboard: ${keys.join(', ')}.` : '';
	}

	// A direction/fire button: pressed = the action, released = noop.
	actionButton(name, glyph, label) {
		const b = el('button', { type: 'button', className: 'btn btn--pad', 'aria-label': label,
			title: label, dataset: { control: name } }, glyph);
		let down = false;
		const press = (e) => {
			if (e.button !== undefined && e.button !== 0)
				return;
			e.preventDefault();
			down = true;
			b.classList.add('is-active');
			if (e.pointerId !== undefined && b.setPointerCapture)
				b.setPointerCapture(e.pointerId);
			this.sendAction('mousedown', name);
		};
		const release = () => {
			if (!down)
				return;
			down = false;
			b.classList.remove('is-active');
			this.sendAction('mouseup', 'noop');
		};
		b.addEventListener('pointerdown', press);
		b.addEventListener('pointerup', release);
		b.addEventListener('pointercancel', release);
		b.addEventListener('lostpointercapture', release);
		b.addEventListener('contextmenu', (e) => e.preventDefault());
		// Keyboard activation (Enter on a focused button): a short press.
		b.addEventListener('click', (e) => {
			if (e.detail !== 0)
				return;
			this.sendAction('keydown', name);
			b.classList.add('is-active');
			setTimeout(() => {
				b.classList.remove('is-active');
				this.sendAction('keyup', 'noop');
			}, 150);
		});
		return b;
	}

	// LABEL: [icon or null, text].
	commandButton(name, [icon, text], msg, extraClass) {
		const b = el('button', { type: 'button', className: `btn btn--cmd ${extraClass || ''}`,
			dataset: { control: name } },
		icon ? el('span', { className: 'btn__icon', 'aria-hidden': 'true', text: icon }) : null,
		text);
		b.addEventListener('click', () => {
			const m = { ...msg };
			if (m.command === 'start')
				Object.assign(m, systemInfo());
			if (m.command === 'start' || m.command === 'pause' || m.command === 'stop') {
				this.playing = m.command === 'start';
				this.paused = m.command === 'pause';
				this.opts.onPlayState();
			}
			this.send(m);
		});
		return b;
	}

	// Highlights the Start button (a game with a Start button not running).
	highlightStart(on) {
		const start = this.panel.querySelector('[data-control="start"]');
		if (start)
			start.classList.toggle('btn--primary', on);
	}

	sendAction(actionType, action, extra) {
		this.send({ actionType, action, ...(extra || {}) });
	}

	buttonFor(action) {
		return this.panel.querySelector(`[data-control="${action}"]`);
	}

	onKeyDown(e) {
		const action = KEYMAP[e.code];
		if (!action || isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey ||
			document.querySelector('.modal'))
			return;
		const listed = this.ui.has(action);
		// Space on a focused button activates it unless space is the fire key.
		if (e.code === 'Space' && !listed && e.target.closest && e.target.closest('button, a'))
			return;
		e.preventDefault(); // mapped keys never scroll the page
		if (e.repeat || !listed)
			return;
		this.held = this.held.filter((h) => h.code !== e.code);
		this.held.push({ code: e.code, action });
		const b = this.buttonFor(action);
		if (b)
			b.classList.add('is-active');
		this.sendAction('keydown', action, { KeyboardEvent: { KEYDOWN: [e.key, e.code] } });
	}

	onKeyUp(e) {
		const action = KEYMAP[e.code];
		if (!action)
			return;
		const i = this.held.findIndex((h) => h.code === e.code);
		if (i < 0)
			return;
		e.preventDefault();
		this.held.splice(i, 1);
		if (!this.held.some((h) => h.action === action)) {
			const b = this.buttonFor(action);
			if (b)
				b.classList.remove('is-active');
		}
		// Another key still held takes over; otherwise release (noop).
		const next = this.held[this.held.length - 1];
		this.sendAction('keyup', next ? next.action : 'noop', { KeyboardEvent: { KEYUP: [e.key] } });
	}

	// Releases every held key (focus lost, tab hidden, connection lost).
	releaseAll(send = true) {
		if (this.held.length === 0)
			return;
		for (const h of this.held) {
			const b = this.buttonFor(h.action);
			if (b)
				b.classList.remove('is-active');
		}
		this.held = [];
		if (send)
			this.sendAction('keyup', 'noop');
	}

	// Pointer events over the frame (recorded by the server), in frame pixels.
	onPointer(e, info) {
		if (info === 'mouse down')
			this.pointerDown = true;
		if (info === 'mouse move') {
			const now = performance.now();
			if (!this.pointerDown || now - this.lastMove < 50)
				return;
			this.lastMove = now;
		}
		if (info === 'mouse up') {
			if (!this.pointerDown)
				return;
			this.pointerDown = false;
		}
		const r = this.canvas.getBoundingClientRect();
		if (r.width === 0 || r.height === 0)
			return;
		const x = Math.round((e.clientX - r.left) * this.canvas.width / r.width);
		const y = Math.round((e.clientY - r.top) * this.canvas.height / r.height);
		this.send({ info, pos: { x, y, width: this.canvas.width, height: this.canvas.height } });
	}
}
