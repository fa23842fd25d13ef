// The console: sign-in, navigation and the router (#/studies, #/funnel/P,
// #/participants/P, #/participant/P/U, #/live, #/spectate/P/U,
// #/replay/P/U/TRIAL/EPISODE, #/data, #/audit, #/nodes: shown on a cluster
// node). Each view's module exports
// render(main, params) and may return a function that stops it (timers,
// streams) when the page changes.

import { ApiError, adminName, api, setUnauthorizedHandler, signIn, signOut, token } from './api.js';
import { clear, h } from './dom.js';

const views = {
	studies: () => import('./views/studies.js'),
	funnel: () => import('./views/funnel.js'),
	participants: () => import('./views/participants.js'),
	participant: () => import('./views/participant.js'),
	live: () => import('./views/live.js'),
	spectate: () => import('./views/spectate.js'),
	replay: () => import('./views/replay.js'),
	data: () => import('./views/data.js'),
	audit: () => import('./views/audit.js'),
	nodes: () => import('./views/nodes.js'),
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const logoutBtn = document.getElementById('logout');
const who = document.getElementById('who');
const notice = document.getElementById('notice');
const navNodes = document.getElementById('nav-nodes');
let stopView = null;
let clusterAsked = false; // whether the server was asked if it is a cluster node
let generation = 0;
let signingIn = false; // the sign-in form shows its own refusal

let keepNotice = false; // shown across the next page change

export function showNotice(text, kind = 'error', keep = false) {
	keepNotice = keep;
	notice.textContent = text;
	notice.className = `notice notice--${kind}`;
	notice.hidden = !text;
}

function signedIn(yes) {
	nav.hidden = !yes;
	logoutBtn.hidden = !yes;
	who.textContent = yes && adminName() ? adminName() : '';
	if (!yes)
		clusterAsked = false;
	else if (!clusterAsked) {
		// The Nodes page is for a server that is a cluster node.
		clusterAsked = true;
		api('nodes').then((r) => { navNodes.hidden = !r.node; }, () => { clusterAsked = false; });
	}
}

function loginView(message) {
	signedIn(false);
	clear(main);
	const tokenInput = h('input', { id: 'token', type: 'password', autocomplete: 'current-password',
		required: true, spellcheck: 'false' });
	const nameInput = h('input', { id: 'name', type: 'text', autocomplete: 'name', maxlength: 80,
		value: adminName() });
	const error = h('p', { id: 'login-error', class: 'form-error', role: 'alert' }, message || '');
	const button = h('button', { type: 'submit', class: 'btn' }, 'Sign in');
	const form = h('form', { class: 'card login', id: 'login', novalidate: false },
		h('h1', {}, 'Sign in'),
		h('p', { class: 'muted' }, 'The admin token of this server (HIPPO_ADMIN_TOKEN or ' +
			'--admin-token-file). It is kept in this tab only.'),
		h('label', { for: 'token' }, 'Admin token'), tokenInput,
		h('label', { for: 'name' }, 'Your name ', h('span', { class: 'muted' }, '(for the audit log)')),
		nameInput, error, button);
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		button.disabled = true;
		error.textContent = '';
		signIn(tokenInput.value.trim(), nameInput.value.trim());
		signingIn = true;
		try {
			await api('projects');
			signingIn = false;
			tokenInput.value = '';
			if (!location.hash || location.hash === '#/' || location.hash === '#/login')
				location.hash = '#/studies';
			route();
		} catch (err) {
			signingIn = false;
			signOut();
			error.textContent = err instanceof ApiError && err.status === 401
				? 'Wrong token.' : err.message;
			button.disabled = false;
			tokenInput.focus();
		}
	});
	main.append(form);
	tokenInput.focus();
}

async function route() {
	const gen = ++generation;
	if (stopView) {
		try {
			stopView();
		} catch (e) {
			// a view that failed to stop must not keep the next one out
		}
		stopView = null;
	}
	if (keepNotice)
		keepNotice = false;
	else
		showNotice('');
	if (!token()) {
		loginView();
		return;
	}
	signedIn(true);
	const parts = (location.hash.replace(/^#\/?/, '') || 'studies').split('/').map(decodeURIComponent);
	const name = views[parts[0]] ? parts[0] : 'studies';
	for (const a of nav.querySelectorAll('a'))
		a.classList.toggle('active', a.dataset.nav === name ||
			(a.dataset.nav === 'studies' && ['funnel', 'participants', 'participant', 'replay'].includes(name)) ||
			(a.dataset.nav === 'live' && name === 'spectate'));
	clear(main);
	main.append(h('p', { class: 'muted' }, 'Loading…'));
	try {
		const mod = await views[name]();
		if (gen !== generation)
			return;
		clear(main);
		const stop = await mod.render(main, parts.slice(1));
		if (gen !== generation) {
			if (typeof stop === 'function')
				stop();
			return;
		}
		stopView = typeof stop === 'function' ? stop : null;
	} catch (err) {
		if (gen !== generation || (err instanceof ApiError && err.status === 401))
			return;
		clear(main);
		main.append(h('div', { class: 'card' }, h('p', { class: 'form-error' }, err.message)));
	}
}

setUnauthorizedHandler((msg) => {
	if (signingIn)
		return;
	signOut();
	if (stopView) {
		stopView();
		stopView = null;
	}
	loginView(msg === 'missing or wrong bearer token' ? 'The token was refused: sign in again.' : msg);
});

logoutBtn.addEventListener('click', () => {
	signOut();
	location.hash = '#/studies';
	route();
});

window.addEventListener('hashchange', route);
route();
