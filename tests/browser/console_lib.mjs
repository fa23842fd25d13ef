// Shared pieces of the researcher console's browser tests (console_*.test.mjs):
// `hippo serve` with an admin token, the console signed in, participants
// walked through /next, the admin API called with the token.
import fs from 'node:fs';
import path from 'node:path';
import { launch, startHippo, tempDir } from './lib.mjs';

export const TOKEN = 'console-test-token-5ad1';

// Starts hippo serve STUDIES with the admin token (in a file); returns lib's
// server object plus api(path, opts) and next(project, user, body, step).
export async function startConsole(checks, studies, extraArgs = []) {
	const dir = tempDir('token');
	const file = path.join(dir, 'token');
	fs.writeFileSync(file, `${TOKEN}\n`);
	checks.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
	const hippo = await startHippo(checks, studies, ['--admin-token-file', file, ...extraArgs]);
	hippo.api = async (p, { method = 'GET', body, token = TOKEN } = {}) => {
		const r = await fetch(`${hippo.url}/api/${p}`, {
			method,
			headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
			body: body ? JSON.stringify(body) : undefined,
		});
		const text = await r.text();
		let json = null;
		try {
			json = JSON.parse(text);
		} catch (e) {
			// not JSON
		}
		return { status: r.status, json, text, headers: r.headers };
	};
	hippo.next = async (project, user, body, step) => {
		const q = `projectId=${project}&userId=${user}${step ? `&step=${step}` : ''}`;
		const r = await fetch(`${hippo.url}/next?${q}`, body ? {
			method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
		} : {});
		return { status: r.status, json: await r.json() };
	};
	return hippo;
}

// Opens the console in a new browser (OPTIONS: lib's launch) and signs in;
// returns {context, page}.
export async function openConsole(checks, hippo, options = {}, name = 'Test Researcher') {
	const b = await launch(checks, options);
	await signIn(b.page, hippo, name);
	return b;
}

export async function signIn(page, hippo, name = 'Test Researcher', token = TOKEN) {
	await page.goto(`${hippo.url}/admin`);
	await page.waitForSelector('#login');
	await page.fill('#token', token);
	await page.fill('#name', name);
	await page.click('#login button[type=submit]');
}

// Polls FN until it returns a truthy value (returned) or MS pass.
export async function until(fn, ms = 15000, every = 200) {
	const end = Date.now() + ms;
	let last;
	while (Date.now() < end) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		await new Promise((r) => setTimeout(r, every));
	}
	throw new Error(`condition not met within ${ms} ms (last: ${last && last.message ? last.message : last})`);
}
