// The admin API client. The token lives in sessionStorage (this tab only,
// gone when it closes) and travels in the Authorization header, never in a
// URL. A 401 signs the console out.

const TOKEN = 'hippo.admin.token';
const NAME = 'hippo.admin.name';

export class ApiError extends Error {
	constructor(message, status) {
		super(message);
		this.status = status;
	}
}

export function token() {
	return sessionStorage.getItem(TOKEN) || '';
}

export function adminName() {
	return sessionStorage.getItem(NAME) || '';
}

export function signIn(tok, name) {
	sessionStorage.setItem(TOKEN, tok);
	sessionStorage.setItem(NAME, name || '');
}

export function signOut() {
	sessionStorage.removeItem(TOKEN);
	sessionStorage.removeItem(NAME);
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

function headers(extra) {
	return { Authorization: `Bearer ${token()}`, ...extra };
}

async function failure(r) {
	let msg = `The server answered with status ${r.status}.`;
	try {
		const b = await r.json();
		if (b && typeof b.error === 'string')
			msg = b.error;
	} catch (e) {
		// not JSON
	}
	if (r.status === 401)
		onUnauthorized(msg);
	return new ApiError(msg, r.status);
}

// GET (or METHOD with a JSON BODY) /api/PATH: the parsed JSON answer.
export async function api(path, { method = 'GET', body, signal } = {}) {
	let r;
	try {
		r = await fetch(`/api/${path}`, {
			method,
			headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
			body: body !== undefined ? JSON.stringify(body) : undefined,
			cache: 'no-store',
			signal,
		});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError('The server cannot be reached.', 0);
	}
	if (!r.ok)
		throw await failure(r);
	return r.json();
}

// POST the file FILE (a Blob) to /api/PATH as its body, with its type:
// {status, json} whatever the status (a refusal carries diagnostics to show).
export async function apiUpload(path, file, type) {
	let r;
	try {
		r = await fetch(`/api/${path}`, { method: 'POST', headers: headers({ 'Content-Type': type }),
			body: file, cache: 'no-store' });
	} catch (e) {
		throw new ApiError('The server cannot be reached.', 0);
	}
	if (r.status === 401)
		throw await failure(r);
	let json = null;
	try {
		json = await r.json();
	} catch (e) {
		// not JSON
	}
	return { status: r.status, json };
}

// GET /api/PATH as a Blob (images, files).
export async function apiBlob(path, { signal } = {}) {
	const r = await fetch(`/api/${path}`, { headers: headers(), cache: 'no-store', signal });
	if (!r.ok)
		throw await failure(r);
	return { blob: await r.blob(), headers: r.headers };
}

// Downloads /api/PATH as a file named NAME (through a Blob, so the token
// stays in the header).
export async function download(path, name) {
	const { blob } = await apiBlob(path);
	const url = URL.createObjectURL(blob);
	const a = document.createElement('a');
	a.href = url;
	a.download = name;
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// Server-sent events from /api/PATH, read with fetch (EventSource cannot send
// the header): calls ON(event, data) for each event until SIGNAL aborts or
// the stream ends. Returns when the stream ends (the caller reconnects).
export async function events(path, on, signal) {
	const r = await fetch(`/api/${path}`, { headers: headers(), cache: 'no-store', signal });
	if (!r.ok)
		throw await failure(r);
	const reader = r.body.getReader();
	const dec = new TextDecoder();
	let buf = '';
	for (;;) {
		const { value, done } = await reader.read();
		if (done)
			return;
		buf += dec.decode(value, { stream: true });
		let end;
		while ((end = buf.indexOf('\n\n')) >= 0) {
			const block = buf.slice(0, end);
			buf = buf.slice(end + 2);
			let event = 'message';
			const data = [];
			for (const line of block.split('\n')) {
				if (line.startsWith('event: '))
					event = line.slice(7);
				else if (line.startsWith('data: '))
					data.push(line.slice(6));
			}
			if (data.length)
				on(event, data.join('\n'));
		}
	}
}
