// The game page: one websocket to the trial server (shared/SPEC.md §3,
// docs/protocol.md), the frame, the controls built from the server's UI list,
// the keyboard, the display/budget/instructions panels, the frame-rate
// readout, the connection indicator and the automatic reconnect.

import { el, showView, notice, modal } from './ui.js';
import { debugLog } from './debug.js';
import { CLOSE } from './close-codes.js';

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

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;

// The websocket URL: explicit (from /next or the `server` parameter; http(s)
// and relative URLs are converted), else ws(s)://<this host>/ws.
export function wsUrl(server) {
	const base = new URL(document.baseURI);
	base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
	if (!server)
		return new URL('ws', base).toString();
	const u = new URL(server, base);
	if (u.protocol === 'http:')
		u.protocol = 'ws:';
	else if (u.protocol === 'https:')
		u.protocol = 'wss:';
	return u.toString();
}

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
function systemInfo() {
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

function formatValue(v) {
	if (typeof v === 'number')
		return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
	if (v === null || v === undefined)
		return '';
	return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function base64ToBytes(b64) {
	const s = atob(b64);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++)
		out[i] = s.charCodeAt(i);
	return out;
}

function sniffType(bytes) {
	if (bytes[0] === 0x89 && bytes[1] === 0x50)
		return 'image/png';
	return 'image/jpeg';
}

// Decodes one binary frame message (hippo's opt-in binary frames): a 16-byte
// header (byte 0: type 1; bytes 4-7: frameId, u32 big-endian; bytes 8-15:
// the server's send time in ms, u64 big-endian) then the JPEG or PNG bytes.
// Returns {meta: {frameId, serverTime}, bytes} or null.
export function parseBinaryFrame(buf) {
	if (buf.byteLength < 17)
		return null;
	const dv = new DataView(buf);
	if (dv.getUint8(0) !== 1)
		return null;
	return {
		meta: { frameId: dv.getUint32(4, false), serverTime: Number(dv.getBigUint64(8, false)) },
		bytes: new Uint8Array(buf, 16),
	};
}

export class Game {
	// OPTS: {identity: {projectId, userId}, server: websocket URL or null,
	//        jsonFrames: ask for base64 JSON frames instead of binary ones,
	//        onDone(): called after the participant confirms the end,
	//        checkMoved(): resolves true when the study has moved past the
	//        game (used while reconnecting; optional)}
	constructor(opts) {
		this.opts = opts;
		this.url = wsUrl(opts.server);
		this.ws = null;
		this.finished = false;
		this.attempts = 0;
		this.everConnected = false;
		this.reconnectTimer = 0;
		this.ui = new Set();
		this.held = [];            // keys held, in press order: {code, action}
		this.frameId = 0;          // the frame on screen
		this.frameShownAt = 0;     // performance.now() when it appeared
		this.frameCount = 0;       // frames received
		this.pending = null;       // newest frame waiting to be decoded
		this.decoding = false;
		this.drawTimes = [];
		this.budget = null;
		this.pointerDown = false;
		this.lastMove = 0;
		this.handlers = [];
		this.playing = false;      // a start was sent and no pause/stop since
		this.paused = false;       // the last of start/pause/stop was pause
		this.build();
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
		this.renderControls();
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
		this.fpsTimer = setInterval(() => this.updateFps(), 500);
	}

	listen(target, type, fn) {
		target.addEventListener(type, fn);
		this.handlers.push([target, type, fn]);
	}

	start() {
		this.connect();
	}

	// Stops everything (socket, timers, listeners).
	destroy() {
		this.finished = true;
		clearTimeout(this.reconnectTimer);
		clearInterval(this.fpsTimer);
		for (const [t, type, fn] of this.handlers)
			t.removeEventListener(type, fn);
		this.handlers = [];
		if (this.ws) {
			this.ws.onclose = null;
			this.ws.close(CLOSE.NORMAL);
			this.ws = null;
		}
	}

	setConn(state, text) {
		this.conn.className = `conn conn--${state}`;
		this.connText.textContent = text;
		this.controls.classList.toggle('controls--offline', state !== 'ok');
	}

	connect() {
		if (this.finished)
			return;
		debugLog('info', 'ws', `connecting to ${this.url}`);
		let ws;
		try {
			ws = new WebSocket(this.url);
		} catch (e) {
			this.setConn('lost', 'Cannot connect');
			notice(`The game server address is not valid: ${this.url}`, 'error');
			return;
		}
		ws.binaryType = 'arraybuffer';
		this.ws = ws;
		ws.onopen = () => {
			if (ws !== this.ws)
				return;
			const reconnect = this.everConnected;
			this.everConnected = true;
			this.attempts = 0;
			this.setConn('ok', 'Connected');
			const hs = { userId: this.opts.identity.userId, projectId: this.opts.identity.projectId };
			// Binary frames unless the link says frames=json (base64 JSON frames
			// work with every server, the original's included).
			if (!this.opts.jsonFrames)
				hs.accept = ['binary'];
			this.sendRaw(hs);
			if (reconnect) {
				// The server pauses a game whose connection dropped: resume it
				// if it was running.
				if (this.playing)
					this.send({ command: 'start', resumed: true, ...systemInfo() });
				notice('Reconnected. The game goes on.', 'info', 4000);
			} else {
				notice('');
			}
			if (this.frameCount === 0)
				this.overlay.textContent = 'Waiting for the game…';
		};
		ws.onmessage = (e) => {
			if (ws === this.ws)
				this.onMessage(e.data);
		};
		ws.onclose = (e) => {
			if (ws !== this.ws)
				return;
			debugLog('info', 'ws', `closed (code ${e.code}${e.reason ? `, ${e.reason}` : ''})`);
			this.ws = null;
			if (this.finished)
				return;
			this.releaseAll(false);
			if (e.code === CLOSE.TAKEN_OVER) {
				this.takenOver();
				return;
			}
			this.setConn('lost', 'Reconnecting…');
			if (e.code === CLOSE.REFUSED) {
				// No session (any more) for this participant: ask the study
				// flow at once instead of retrying blindly.
				notice(`The game server refused the connection${e.reason ? ` (${e.reason})` : ''}. Trying again…`,
					'warn');
				this.attempts = Math.max(this.attempts, 3);
			} else {
				notice('The connection to the game was lost. Reconnecting… your game is kept.', 'warn');
			}
			this.scheduleReconnect();
		};
		ws.onerror = () => {
			debugLog('info', 'ws', 'error');
		};
	}

	// Another window or tab of this participant took the game over: no
	// reconnect (the two would take it from each other forever) until the
	// participant asks to play here again.
	takenOver() {
		this.setConn('lost', 'Open elsewhere');
		notice('');
		const again = el('button', { type: 'button', className: 'btn btn--primary', id: 'play-here',
			text: 'Play here instead' });
		again.addEventListener('click', () => {
			this.overlay.hidden = this.frameCount > 0;
			this.overlay.replaceChildren('Connecting…');
			this.setConn('wait', 'Connecting…');
			this.connect();
		});
		this.overlay.replaceChildren(el('div', { className: 'frame-box__message', role: 'alert' },
			el('p', { text: 'This game is now open in another window or tab.' }), again));
		this.overlay.hidden = false;
	}

	async scheduleReconnect() {
		const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts);
		this.attempts++;
		// Every few failures, ask the study flow whether the game is over
		// (ended while we were away): then move on instead of retrying.
		if (this.opts.checkMoved && this.attempts % 4 === 0) {
			let moved = false;
			try {
				moved = await this.opts.checkMoved();
			} catch (e) {
				moved = false;
			}
			if (moved && !this.finished) {
				this.destroy();
				this.opts.onDone({ moved: true });
				return;
			}
		}
		if (!this.finished)
			this.reconnectTimer = setTimeout(() => this.connect(), delay);
	}

	// Sends OBJ with the timing fields every message carries: the frame on
	// screen (frameId), how many frames were received (frameCount) and the ms
	// since that frame appeared (sinceFrameMs).
	send(obj) {
		if (this.frameId > 0) {
			obj.frameId = this.frameId;
			obj.sinceFrameMs = Math.round((performance.now() - this.frameShownAt) * 10) / 10;
		}
		obj.frameCount = this.frameCount;
		return this.sendRaw(obj);
	}

	sendRaw(obj) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
			return false;
		const text = JSON.stringify(obj);
		this.ws.send(text);
		debugLog('out', 'ws', text);
		return true;
	}

	onMessage(data) {
		if (typeof data !== 'string') {
			debugLog('in', 'ws', data);
			const f = parseBinaryFrame(data);
			if (f)
				this.onFrame(new Blob([f.bytes], { type: sniffType(f.bytes) }), f.meta);
			return;
		}
		if (data === 'done') {
			debugLog('in', 'ws', data);
			this.onDone();
			return;
		}
		let msg;
		try {
			msg = JSON.parse(data);
		} catch (e) {
			debugLog('in', 'ws', data);
			return;
		}
		debugLog('in', 'ws', data);
		if (!msg || typeof msg !== 'object')
			return;
		if ('ping' in msg)
			this.send({ pong: msg.ping });
		if (typeof msg.frame === 'string') {
			let bytes;
			try {
				bytes = base64ToBytes(msg.frame);
			} catch (e) {
				bytes = null;
			}
			if (bytes)
				this.onFrame(new Blob([bytes], { type: sniffType(bytes) }), msg);
		}
		if (Array.isArray(msg.UI))
			this.setUi(msg.UI);
		if (msg.display && typeof msg.display === 'object')
			this.setDisplay(msg.display);
		if ('inputBudget' in msg || 'usedInputBudget' in msg)
			this.setBudget(msg.inputBudget, msg.usedInputBudget);
		if (Array.isArray(msg.Instructions))
			this.setInstructions(msg.Instructions);
		if ('gameWindowWidth' in msg || 'gameWindowHeight' in msg || 'gameWindowSize' in msg)
			this.setWindowHints(msg);
		if (typeof msg.error === 'string')
			notice(msg.error, 'error', 8000);
	}

	// Shows the newest frame: decoding is asynchronous, frames that arrive
	// meanwhile replace each other (a slow device drops frames, never lags).
	onFrame(blob, meta) {
		this.frameCount++;
		const id = Number.isInteger(meta.frameId) ? meta.frameId : this.frameCount;
		this.pending = { blob, id, border: meta.borderColor };
		if (!this.decoding)
			this.decodeLoop();
	}

	async decodeLoop() {
		this.decoding = true;
		while (this.pending && !this.finished) {
			const p = this.pending;
			this.pending = null;
			let bmp;
			try {
				bmp = await createImageBitmap(p.blob);
			} catch (e) {
				debugLog('info', 'ws', `frame ${p.id} could not be decoded`);
				continue;
			}
			if (this.finished) {
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
				this.updateHint();
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

	setUi(list) {
		this.ui = new Set(list.filter((x) => typeof x === 'string'));
		this.renderControls();
	}

	// Builds the control panel: only the controls the server listed.
	renderControls() {
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
		this.updateHint();
		if (parts.length === 0)
			parts.push(el('p', { className: 'muted', text: this.everConnected ? 'No controls for this game.'
				: 'Controls appear when the game is connected.' }));
		this.controls.replaceChildren(...parts);
		const keys = [];
		if (['up', 'down', 'left', 'right'].some((n) => ui.has(n)))
			keys.push('arrow keys or W A S D to move');
		if (['leftUp', 'rightUp', 'leftDown', 'rightDown'].some((n) => ui.has(n)))
			keys.push('Q E Z C for diagonals');
		if (ui.has('fire'))
			keys.push('space to fire');
		this.keysHint.textContent = keys.length ? `Keyboard: ${keys.join(', ')}.` : '';
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

	// "Press Start" over the frame while a game with a Start button is not
	// running (before the first start, after a pause, after a reload).
	updateHint() {
		const show = this.ui.has('start') && !this.playing && this.frameCount > 0 && !this.finished;
		if (show)
			this.hint.textContent = this.paused ? 'Paused: press Start to go on' : 'Press Start to play';
		this.hint.hidden = !show;
		const start = this.controls.querySelector('[data-control="start"]');
		if (start)
			start.classList.toggle('btn--primary', show);
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
				this.updateHint();
			}
			this.send(m);
		});
		return b;
	}

	sendAction(actionType, action, extra) {
		this.send({ actionType, action, ...(extra || {}) });
	}

	buttonFor(action) {
		return this.controls.querySelector(`[data-control="${action}"]`);
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

	async onDone() {
		if (this.finished)
			return;
		this.releaseAll();
		this.destroy();
		this.updateHint();
		this.setConn('done', 'Finished');
		notice('');
		await modal('You have completed this part',
			'Thank you! Press Continue to go on with the study.', 'Continue');
		this.opts.onDone({ moved: false });
	}
}
