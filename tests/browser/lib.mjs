// Shared helpers of the browser tests: start `hippo serve` on a free
// 127.0.0.1 port with a temporary data folder, launch Debian's Chromium
// headless with a fresh profile (playwright-core) that watches the
// Content-Security-Policy (every test fails on a violation or a page served
// without the policy), a TCP proxy that can drop connections, checks printed
// one per line, screenshots under out/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRC = process.env.HIPPO_SRC || path.resolve(here, '../..');
export const BIN = process.env.HIPPO_BIN || path.join(SRC, 'build/test/hippo');
export const EXAMPLE = path.join(SRC, 'examples/cartpole');
export const CHROMIUM = process.env.HIPPO_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
	'--no-first-run', '--disable-background-networking', '--disable-component-update',
	'--disable-sync'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Checks: each prints one line; summary() prints "N passed, N failed".
export class Checks {
	constructor(name, timeoutMs = 270000) {
		this.name = name;
		this.passed = 0;
		this.failed = 0;
		this.cleanups = [];
		this.finals = [];
		this.outDir = path.join(here, 'out', name);
		fs.rmSync(this.outDir, { recursive: true, force: true });
		fs.mkdirSync(this.outDir, { recursive: true });
		this.shot = 0;
		// A hung test fails instead of waiting for ctest's timeout.
		this.timer = setTimeout(async () => {
			console.log(`FAIL - ${name}: the test did not finish within ${timeoutMs / 1000} s`);
			this.failed++;
			await this.finish();
		}, timeoutMs);
	}

	ok(cond, what, detail) {
		if (cond) {
			this.passed++;
			console.log(`ok - ${what}`);
		} else {
			this.failed++;
			console.log(`FAIL - ${what}${detail !== undefined ? `: ${detail}` : ''}`);
		}
		return !!cond;
	}

	// Runs FN as one check: passes when it resolves, fails with its error.
	async check(what, fn) {
		try {
			const r = await fn();
			this.ok(true, what);
			return r === undefined ? true : r;
		} catch (e) {
			this.ok(false, what, (e && e.message ? e.message : String(e)).split('\n')[0]);
			return false;
		}
	}

	onCleanup(fn) {
		this.cleanups.unshift(fn);
	}

	// FN (checks of the whole test) runs when the test finishes, before the
	// cleanups.
	onFinal(fn) {
		this.finals.push(fn);
	}

	// Saves a full-page screenshot as out/<test>/<nn>-<label>.png.
	async screenshot(page, label) {
		this.shot++;
		const file = path.join(this.outDir, `${String(this.shot).padStart(2, '0')}-${label}.png`);
		try {
			// From the top, so the sticky header is where a participant sees it.
			await page.evaluate(() => window.scrollTo(0, 0));
			await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
		} catch (e) {
			console.log(`# screenshot ${label} failed: ${e.message}`);
		}
		return file;
	}

	async finish() {
		clearTimeout(this.timer);
		const finals = this.finals;
		this.finals = [];
		for (const fn of finals) {
			try {
				await fn();
			} catch (e) {
				this.ok(false, 'final checks', e.message);
			}
		}
		for (const fn of this.cleanups) {
			try {
				await fn();
			} catch (e) {
				console.log(`# cleanup: ${e.message}`);
			}
		}
		this.cleanups = [];
		console.log(`${this.passed} passed, ${this.failed} failed`);
		process.exit(this.failed === 0 && this.passed > 0 ? 0 : 1);
	}
}

// A free TCP port on 127.0.0.1 (bind to port 0, read it, release it).
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

export function tempDir(prefix) {
	return fs.mkdtempSync(path.join(os.tmpdir(), `hippo-${prefix}-`));
}

async function waitHttp(url, ms, proc) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (proc.exitCode !== null)
			throw new Error(`hippo serve exited with status ${proc.exitCode}`);
		try {
			const r = await fetch(url);
			if (r.status > 0)
				return;
		} catch (e) {
			// not listening yet
		}
		await sleep(200);
	}
	throw new Error(`hippo serve did not answer ${url} within ${ms / 1000} s`);
}

// Starts `hippo serve STUDY...` on a free port; returns {url, port, data,
// proc, log}. Stopped (SIGTERM, then SIGKILL) by CHECKS' cleanup.
export async function startHippo(checks, studies = [EXAMPLE], extraArgs = []) {
	const data = tempDir('data');
	const logFile = path.join(checks.outDir, 'hippo.log');
	let lastErr = null;
	for (let attempt = 0; attempt < 3; attempt++) {
		const port = await freePort();
		const log = fs.openSync(logFile, 'a');
		const proc = spawn(BIN, ['serve', ...studies, '--host', '127.0.0.1', '--port', String(port),
			'--data', data, ...extraArgs], { stdio: ['ignore', log, log] });
		fs.closeSync(log);
		const url = `http://127.0.0.1:${port}`;
		const stop = async () => {
			if (proc.exitCode !== null || proc.signalCode !== null)
				return;
			const exited = new Promise((r) => proc.once('exit', r));
			proc.kill('SIGTERM');
			const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
			await exited;
			clearTimeout(t);
		};
		try {
			await waitHttp(`${url}/index.html`, 60000, proc);
		} catch (e) {
			lastErr = e;
			await stop();
			continue;
		}
		checks.onCleanup(async () => {
			await stop();
			fs.rmSync(data, { recursive: true, force: true });
		});
		return { url, port, data, proc, logFile, stop };
	}
	const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
	throw new Error(`${lastErr.message}\n${tail}`);
}

// Launches Chromium with a fresh profile; returns {context, page}. OPTIONS
// go to the browser context (viewport, ...). Console errors and page errors
// are collected in page.errors.
export async function launch(checks, options = {}) {
	const profile = tempDir('chromium');
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: CHROMIUM_ARGS,
		viewport: { width: 1280, height: 800 },
		...options,
	});
	checks.onCleanup(async () => {
		await context.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	});
	await watchCsp(checks, context);
	const page = context.pages()[0] || await context.newPage();
	page.setDefaultTimeout(30000);
	watchPage(page);
	return { context, page };
}

// The Content-Security-Policy in every page and frame of CONTEXT: the
// `securitypolicyviolation` events (context.violations, and
// page.violations of the page) and the policy header of every document a
// local server (hippo, or a proxy in front of it) answered. When the test
// finishes: a violation fails it, and so does a document without the policy
// (or without a strict script-src and a frame-ancestors).
async function watchCsp(checks, context) {
	context.violations = [];
	const documents = [];
	await context.exposeBinding('hippoCspViolation', ({ page }, v) => {
		context.violations.push(v);
		if (page)
			(page.violations ||= []).push(v);
	});
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			window.hippoCspViolation(`${e.effectiveDirective} refused ${e.blockedURI || '?'} ` +
				`(${e.sourceFile || document.URL}:${e.lineNumber})`);
		}, true);
	});
	context.on('response', (r) => {
		if (r.request().resourceType() !== 'document' || new URL(r.url()).hostname !== '127.0.0.1')
			return;
		documents.push(r.headerValue('content-security-policy').catch(() => null)
			.then((csp) => ({ url: r.url(), csp })));
	});
	checks.onFinal(async () => {
		checks.ok(context.violations.length === 0, 'no Content-Security-Policy violations',
			context.violations.join(' | '));
		const docs = await Promise.all(documents);
		const bad = docs.filter((d) => !d.csp || !/(^|; )script-src 'self'(;|$)/.test(d.csp) ||
			!/(^|; )frame-ancestors [^;]+$/.test(d.csp));
		checks.ok(docs.length > 0 && bad.length === 0,
			`every page (${docs.length}) came with the Content-Security-Policy`,
			bad.map((d) => `${d.url}: ${d.csp}`).join(' | '));
	});
}

// Removes from CONTEXT's violations those matching RE (the ones a test
// provoked on purpose) and returns them.
export function takeViolations(context, re) {
	const taken = context.violations.filter((v) => re.test(v));
	context.violations = context.violations.filter((v) => !re.test(v));
	for (const p of context.pages())
		if (p.violations)
			p.violations = p.violations.filter((v) => !re.test(v));
	return taken;
}

// Collects a page's console errors, uncaught exceptions and the websocket
// messages it sends and receives (page.wsSent / page.wsReceived, and per
// socket in page.sockets[i].sent / .received: strings).
export function watchPage(page) {
	page.errors = [];
	page.wsSent = [];
	page.wsReceived = [];
	page.sockets = [];
	page.on('console', (m) => {
		if (m.type() === 'error')
			page.errors.push(`console: ${m.text()}`);
	});
	page.on('pageerror', (e) => page.errors.push(`exception: ${e.message}`));
	page.on('websocket', (ws) => {
		page.sockets.push(ws);
		ws.sent = [];
		ws.received = [];
		ws.on('framesent', (f) => {
			if (typeof f.payload === 'string') {
				page.wsSent.push(f.payload);
				ws.sent.push(f.payload);
			}
		});
		ws.on('framereceived', (f) => {
			const m = typeof f.payload === 'string' ? f.payload : `<binary ${f.payload.length}>`;
			page.wsReceived.push(m);
			ws.received.push(m);
		});
	});
}

// The JSON messages in LIST (skipping non-JSON ones such as "done").
export function jsonMessages(list) {
	const out = [];
	for (const s of list) {
		try {
			const m = JSON.parse(s);
			if (m && typeof m === 'object')
				out.push(m);
		} catch (e) {
			// "done"
		}
	}
	return out;
}

// A TCP proxy on a free 127.0.0.1 port to TARGET_PORT; dropAll(ms) cuts
// every connection going through it (both directions, like a network
// failure) and refuses new ones for MS milliseconds.
export async function startProxy(checks, targetPort) {
	const conns = new Set();
	let blockedUntil = 0;
	const server = net.createServer((client) => {
		if (Date.now() < blockedUntil) {
			client.destroy();
			return;
		}
		const upstream = net.connect(targetPort, '127.0.0.1');
		const pair = { client, upstream };
		conns.add(pair);
		client.pipe(upstream);
		upstream.pipe(client);
		const end = () => {
			conns.delete(pair);
			client.destroy();
			upstream.destroy();
		};
		client.on('error', end);
		upstream.on('error', end);
		client.on('close', end);
		upstream.on('close', end);
	});
	const port = await new Promise((resolve) => {
		server.listen(0, '127.0.0.1', () => resolve(server.address().port));
	});
	checks.onCleanup(() => new Promise((r) => {
		for (const c of conns) {
			c.client.destroy();
			c.upstream.destroy();
		}
		server.close(() => r());
	}));
	return {
		port,
		url: `http://127.0.0.1:${port}`,
		count: () => conns.size,
		dropAll(ms = 0) {
			blockedUntil = Date.now() + ms;
			const n = conns.size;
			for (const c of conns) {
				c.client.destroy();
				c.upstream.destroy();
			}
			conns.clear();
			return n;
		},
	};
}

// Layout facts of the current page, for the "clean, consistent" checks.
export function layout(page) {
	return page.evaluate(() => {
		const cs = getComputedStyle(document.body);
		const r = (sel) => {
			const e = document.querySelector(sel);
			if (!e)
				return null;
			const b = e.getBoundingClientRect();
			return { x: b.x, y: b.y + window.scrollY, w: b.width, h: b.height };
		};
		const canvas = document.querySelector('#frame');
		return {
			styled: cs.backgroundColor === 'rgb(244, 246, 249)' && cs.fontFamily.includes('system-ui'),
			overflowX: document.documentElement.scrollWidth - window.innerWidth,
			view: document.body.dataset.view || '',
			step: document.getElementById('step-indicator').textContent,
			frame: r('#frame'),
			frameBox: r('#frame-box'),
			canvas: canvas ? { w: canvas.width, h: canvas.height } : null,
		};
	});
}

// Plays the game with the keyboard: presses Start when listed, then holds
// arrow keys alternately until the end-of-game modal shows (or MS passes).
// Returns the number of key presses.
export async function playUntilDone(page, ms = 150000) {
	await page.waitForSelector('#frame-box');
	const start = page.locator('[data-control="start"]');
	await start.waitFor({ state: 'visible', timeout: 60000 }).catch(() => {});
	// (The game may be over already: then the modal covers the button.)
	if (await start.count() && !await page.locator('.modal').count())
		await start.click({ timeout: 5000 }).catch(() => {});
	const end = Date.now() + ms;
	let presses = 0;
	while (Date.now() < end) {
		if (await page.locator('.modal').count())
			return presses;
		const key = presses % 2 ? 'ArrowLeft' : 'ArrowRight';
		await page.keyboard.down(key);
		await sleep(180);
		await page.keyboard.up(key);
		presses++;
		// A paused or not yet started game (e.g. after a reconnect) is started again.
		if (presses % 25 === 0 && await start.count() && !await page.locator('.modal').count())
			await start.click({ timeout: 2000 }).catch(() => {});
	}
	throw new Error(`no end-of-game message after ${ms / 1000} s of play`);
}
