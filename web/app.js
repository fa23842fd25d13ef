// Bootstrap and router: reads the link's parameters, keeps the participant's
// identity across reloads, and walks the study with /next: step pages,
// waiting, the game, the final page.

import { Api } from './api.js';
import { renderStep } from './step.js';
import { Game } from './game.js';
import { debugInit, debugLog } from './debug.js';
import { el, showView, setStep, notice, spinnerCard, errorCard } from './ui.js';

// Crowdsourcing parameters kept with the participant (Prolific, MTurk).
const CROWD_PARAMS = ['PROLIFIC_PID', 'STUDY_ID', 'SESSION_ID', 'workerId', 'assignmentId', 'hitId'];
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const POLL_MS = 1000;
const REDIRECT_S = 10;

function uuid4() {
	if (crypto.randomUUID)
		return crypto.randomUUID();
	// crypto.randomUUID needs a secure context; getRandomValues does not.
	const b = crypto.getRandomValues(new Uint8Array(16));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function storageGet(key) {
	try {
		return localStorage.getItem(key);
	} catch (e) {
		return null;
	}
}

function storageSet(key, value) {
	try {
		localStorage.setItem(key, value);
	} catch (e) {
		// private mode: the URL still carries the identity
	}
}

// The link's parameters, with the userId settled: from the URL, else the
// one this browser used for the project before, else a new UUID v4; written
// back to the URL (without reloading) and to localStorage.
export function readParams() {
	const url = new URL(window.location.href);
	const q = url.searchParams;
	const p = {
		projectId: q.get('projectId') || '',
		userId: q.get('userId') || '',
		server: q.get('server') || '',
		css: q.get('css') || '',
		redirect: q.get('redirect') || '',
		debug: q.get('debug') === 'true' || q.get('debug') === '1',
		jsonFrames: q.get('frames') === 'json',
		preview: q.get('preview') || '',
		crowd: {},
	};
	// a preview (the console's preview link) keeps an identity of its own
	const key = `hippo.${p.projectId}${p.preview ? '.preview' : ''}`;
	let saved = {};
	try {
		saved = JSON.parse(storageGet(key) || '{}') || {};
	} catch (e) {
		saved = {};
	}
	if (!p.userId)
		p.userId = saved.userId || uuid4();
	const savedCrowd = saved.userId === p.userId && saved.crowd ? saved.crowd : {};
	for (const k of CROWD_PARAMS) {
		const v = q.get(k) || savedCrowd[k];
		if (v)
			p.crowd[k] = v;
	}
	if (p.projectId) {
		storageSet(key, JSON.stringify({ userId: p.userId, crowd: p.crowd }));
		if (q.get('userId') !== p.userId) {
			q.set('userId', p.userId);
			window.history.replaceState(null, '', url.toString());
		}
	}
	return p;
}

function addStylesheet(href) {
	const link = document.createElement('link');
	link.rel = 'stylesheet';
	link.href = href;
	document.head.append(link);
}

// Sends the participant to URL after a visible countdown (they can go now).
function redirectSoon(url, seconds) {
	let target;
	try {
		target = new URL(url, document.baseURI);
	} catch (e) {
		return;
	}
	if (target.protocol !== 'https:' && target.protocol !== 'http:')
		return;
	let left = seconds;
	const count = el('span', { className: 'redirect__count', text: String(left) });
	const link = el('a', { className: 'btn btn--primary', href: target.toString(), text: 'Continue now' });
	const box = el('div', { className: 'redirect', role: 'status', id: 'redirect' },
		el('span', {}, 'You will be taken back in ', count, ' s.'), link);
	document.getElementById('app').append(box);
	const timer = setInterval(() => {
		left--;
		count.textContent = String(Math.max(0, left));
		if (left <= 0) {
			clearInterval(timer);
			window.location.assign(target.toString());
		}
	}, 1000);
}

// Step numbers from a /next answer (hippo adds them; the original did not).
function stepInfo(ans) {
	const num = (...keys) => {
		for (const k of keys)
			if (Number.isInteger(ans[k]))
				return ans[k];
		return null;
	};
	return { step: num('step', 'stepNumber'), total: num('steps', 'totalSteps', 'stepCount') };
}

class Study {
	constructor(params) {
		this.params = params;
		this.api = new Api({ projectId: params.projectId, userId: params.userId },
			params.preview ? { ...params.crowd, preview: params.preview } : params.crowd);
		this.pollTimer = 0;
		this.game = null;
		this.retryDelay = 1000;
	}

	// GET /next and show the answer; network trouble retries with a notice.
	async load() {
		clearTimeout(this.pollTimer);
		let ans;
		try {
			ans = await this.api.get();
		} catch (err) {
			this.fail(err, () => this.load());
			return;
		}
		this.retryDelay = 1000;
		this.show(ans);
	}

	fail(err, retry) {
		if (err.fatal) {
			notice('');
			setStep(null);
			showView('error', errorCard('This study is not available', err.message === 'Project ID Not Found'
				? 'The link you followed does not name a study that is running now. Please check the link.'
				: err.message));
			return;
		}
		notice(`${err.message} Trying again…`, 'warn');
		this.pollTimer = setTimeout(retry, this.retryDelay);
		this.retryDelay = Math.min(10000, this.retryDelay * 2);
	}

	show(ans) {
		const { step, total } = stepInfo(ans);
		setStep(step, total);
		if (this.game && ans.page !== 'show_game_page') {
			this.game.destroy();
			this.game = null;
		}
		if (ans.page === 'wait') {
			notice('');
			if (document.body.dataset.view !== 'wait')
				showView('wait', spinnerCard(typeof ans.message === 'string' && ans.message
					? ans.message : 'Getting the game ready for you… this takes a moment.'));
			this.pollTimer = setTimeout(() => this.load(), POLL_MS);
			return;
		}
		if (ans.page === 'show_game_page') {
			notice('');
			if (this.game)
				return;
			this.game = new Game({
				identity: { projectId: this.params.projectId, userId: this.params.userId },
				server: ans.server || this.params.server || null,
				jsonFrames: this.params.jsonFrames,
				// Where the game is now (asked before each reconnect): over,
				// or on which server (another node after its own was lost).
				locate: async () => {
					const a = await this.api.get();
					const server = a.server || this.params.server || null;
					if (a.page === 'show_game_page')
						return { moved: false, server };
					return { moved: a.page !== 'wait', server: null };
				},
				onDone: () => {
					this.game = null;
					this.load();
				},
			});
			this.game.start();
			return;
		}
		notice('');
		if (typeof ans.css === 'string' && ans.css)
			addStylesheet(ans.css);
		// The final step is numbered after the last one (hippo's /next).
		const final = ans.final === true || (step !== null && total !== null && step > total);
		const code = typeof ans.completionCode === 'string' && ans.completionCode
			? ans.completionCode : this.params.userId;
		renderStep(ans, {
			final,
			code,
			showCode: typeof ans.completionCode === 'string' && ans.completionCode !== '',
			onSubmit: async (fields) => {
				let next;
				try {
					next = await this.api.post(fields, step,
						/^[0-9a-f]{64}$/.test(ans.pageHash) ? ans.pageHash : null);
				} catch (err) {
					if (err.fatal) {
						this.fail(err);
						return;
					}
					throw err;
				}
				this.show(next);
			},
		});
		if (final || ans.page.includes('You may exit now'))
			this.finish();
	}

	finish() {
		if (this.params.redirect)
			redirectSoon(this.params.redirect, REDIRECT_S);
	}
}

// `server` given: no step pages, straight to the game; at the end, the
// redirect or a thank-you page.
function directGame(params) {
	const game = new Game({
		identity: { projectId: params.projectId, userId: params.userId },
		server: params.server,
		jsonFrames: params.jsonFrames,
		onDone: () => {
			setStep(null);
			showView('final', el('div', { className: 'card card--center' },
				el('h1', { className: 'card__title', text: 'Thank you!' }),
				el('p', { text: 'The game is over. You may close this page now.' })));
			if (params.redirect)
				redirectSoon(params.redirect, 3);
		},
	});
	game.start();
}

function main() {
	const params = readParams();
	if (params.css)
		addStylesheet(params.css);
	if (params.debug)
		debugInit();
	debugLog('info', 'page', `projectId=${params.projectId} userId=${params.userId}`);
	if (params.preview) // the console's preview link: the researcher sees it is one
		document.querySelector('.brand').after(el('span', { className: 'preview-badge', id: 'preview-badge',
			title: 'A preview: in no group, not counted, not exported', text: 'Preview' }));
	if (params.server) {
		directGame(params);
		return;
	}
	if (!params.projectId) {
		showView('error', errorCard('No study selected',
			'This link is missing its study (projectId). Please use the link you were given.'));
		return;
	}
	if (!ID_RE.test(params.projectId) || !ID_RE.test(params.userId)) {
		showView('error', errorCard('This link is not valid',
			'The study or participant id in this link contains characters that are not allowed.'));
		return;
	}
	new Study(params).load();
}

main();
