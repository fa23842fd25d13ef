// The /next client (shared/SPEC.md §2): GET shows the participant's current
// step, POST submits the step's form as a JSON object and returns the next one.

import { debugLog } from './debug.js';

export class ApiError extends Error {
	// STATUS: HTTP status (0 for a network failure); FATAL: retrying cannot
	// help (unknown project, bad link); FIELDS: per-field messages, if any.
	constructor(message, status, fatal, fields) {
		super(message);
		this.status = status;
		this.fatal = fatal;
		this.fields = fields || null;
	}
}

// Extracts a readable message from an error body: a JSON string (the
// original's "Project ID Not Found"), {"error": "..."} or {"message": "..."}.
function errorMessage(body, status) {
	if (typeof body === 'string' && body)
		return body;
	if (body && typeof body === 'object') {
		for (const k of ['error', 'message', 'detail'])
			if (typeof body[k] === 'string' && body[k])
				return body[k];
	}
	return `The server answered with status ${status}.`;
}

function errorFields(body) {
	if (!body || typeof body !== 'object')
		return null;
	for (const k of ['fields', 'errors'])
		if (body[k] && typeof body[k] === 'object' && !Array.isArray(body[k]))
			return body[k];
	return null;
}

export class Api {
	// IDENTITY: {projectId, userId}; EXTRA: more query parameters kept with
	// the participant (crowdsourcing ids), sent with every request.
	constructor(identity, extra) {
		this.identity = identity;
		this.extra = extra || {};
	}

	url(step, pageHash) {
		const u = new URL('next', document.baseURI);
		u.searchParams.set('projectId', this.identity.projectId);
		u.searchParams.set('userId', this.identity.userId);
		for (const [k, v] of Object.entries(this.extra))
			u.searchParams.set(k, v);
		if (step)
			u.searchParams.set('step', String(step));
		if (pageHash)
			u.searchParams.set('pageHash', pageHash);
		return u.toString();
	}

	// One request. Resolves to the parsed answer ({page, ...}); rejects with
	// an ApiError. STEP: the step a POST answers, PAGEHASH: the version of
	// the page it answers (the server ignores a submit for another step or
	// another version of the page: a double submit, a stale tab, a redeploy).
	async request(method, body, step, pageHash) {
		const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
		if (body !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		debugLog('out', `${method} /next`, body === undefined ? '' : init.body);
		let res;
		try {
			res = await fetch(this.url(step, pageHash), init);
		} catch (e) {
			debugLog('info', '/next', `network error: ${e.message}`);
			throw new ApiError('The study server cannot be reached.', 0, false);
		}
		const text = await res.text().catch(() => '');
		let data = null;
		try {
			data = text ? JSON.parse(text) : null;
		} catch (e) {
			data = text;
		}
		debugLog('in', `${res.status} /next`, text);
		if (!res.ok) {
			const msg = errorMessage(data, res.status);
			const fields = errorFields(data);
			// An unknown project or participant is a dead end; a refused
			// POST (a missing or invalid answer) is shown beside the form.
			let fatal = res.status === 400 || res.status === 403 || res.status === 404 ||
				res.status === 410;
			if (method === 'POST' && (fields || res.status === 422 ||
				(res.status === 400 && !/project|user/i.test(msg))))
				fatal = false;
			throw new ApiError(msg, res.status, fatal, fields);
		}
		if (!data || typeof data !== 'object' || typeof data.page !== 'string')
			throw new ApiError('The study server sent an answer this page does not understand.',
				res.status, false);
		return data;
	}

	get() {
		return this.request('GET');
	}

	post(fields, step, pageHash) {
		return this.request('POST', fields, step, pageHash);
	}
}
