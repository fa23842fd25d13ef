// The participant UI under its own Content-Security-Policy (sent by hippo
// serve; every browser test fails on a violation, see lib.mjs): what a step
// file may contain (style attributes, https and data: images, https
// iframes) and what is refused (<style> elements, event-handler attributes,
// scripts, stylesheets that are not https); a page saying "You may exit now"
// shows no button, not even its own; frame-ancestors: another site cannot
// embed the UI unless `--frame-ancestors` names it.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, startHippo, launch, layout, sleep, takeViolations, freePort } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, 'fixtures/csp');
const PROJECT = 'csp-test';
// 2x2 red PNG: the researcher's logo, answered by the test (no network).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4IScHRAwQCg' +
	'AfJgQRoo8irwAAAABJRU5ErkJggg==', 'base64');

// Another site (a survey tool, say) on this machine: its page /survey?study=URL
// embeds URL in an iframe. (A local server: Chromium refuses frames of a
// local address in pages it cannot place on the local network.) Its origin
// is http://localhost:PORT, another origin than hippo's 127.0.0.1.
async function startPortal(checks) {
	const port = await freePort();
	const server = http.createServer((req, res) => {
		const study = new URL(req.url, 'http://localhost').searchParams.get('study') || '';
		const attr = study.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(`<!doctype html><title>Portal</title><h1>Survey</h1>
<iframe id="study" src="${attr}" width="900" height="700" title="Study"></iframe>`);
	});
	await new Promise((r) => server.listen(port, '127.0.0.1', r));
	checks.onCleanup(() => new Promise((r) => {
		server.closeAllConnections();
		server.close(() => r());
	}));
	return `http://localhost:${port}`;
}

// Opens the portal's page embedding URL in PAGE; returns the iframe's frame.
async function portalWith(page, portal, url) {
	await page.goto(`${portal}/survey?study=${encodeURIComponent(url)}`);
	const el = await page.waitForSelector('#study');
	const frame = await el.contentFrame();
	await frame.waitForLoadState('load').catch(() => {});
	return frame;
}

const t = new Checks('csp');
try {
	const hippo = await startHippo(t, [STUDY]);

	const res = await fetch(`${hippo.url}/`);
	const policy = res.headers.get('content-security-policy') || '';
	await t.check('GET / carries the policy: scripts of the UI\'s origin only, frame-ancestors \'self\'', () => {
		assert.match(policy, /(^|; )default-src 'none'(;|$)/);
		assert.match(policy, /(^|; )script-src 'self'(;|$)/);
		assert.match(policy, /(^|; )frame-ancestors 'self'$/);
		assert.doesNotMatch(policy, /unsafe-eval/);
	});

	const { context, page } = await launch(t);
	await page.route('https://images.example.org/**', (r) => r.fulfill({ contentType: 'image/png',
		body: PNG }));
	await page.route('https://video.example.org/**', (r) => r.fulfill({ contentType: 'text/html',
		body: '<!doctype html><p id="player">video player</p>' }));
	await page.route('http://styles.example.org/**', (r) => r.fulfill({ contentType: 'text/css',
		body: '.site-footer { border-top-color: rgb(4, 5, 6); }' }));

	// A stylesheet over plain http is refused (and the violation is seen).
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&userId=csp-1` +
		`&css=${encodeURIComponent('http://styles.example.org/study.css')}`);
	await page.waitForSelector('form.step');
	await sleep(500);
	t.ok((await layout(page)).styled, 'the page is styled under the policy');
	t.ok(await page.evaluate(() => getComputedStyle(document.querySelector('.site-footer'))
		.borderTopColor) !== 'rgb(4, 5, 6)', 'a `css` stylesheet over plain http is not applied');

	// What a step file may contain.
	await t.check('a style attribute of the step file applies', async () =>
		assert.equal(await page.$eval('#title', (e) => getComputedStyle(e).color), 'rgb(10, 20, 30)'));
	await t.check('images from https and data: URLs are shown', async () => {
		await page.waitForFunction(() => ['remote-img', 'data-img'].every((id) =>
			document.getElementById(id).complete), null, { timeout: 10000 });
		const w = await page.$$eval('#remote-img, #data-img', (es) => es.map((e) => e.naturalWidth));
		assert.deepEqual(w, [2, 2]);
	});
	await t.check('an https iframe (a video) is shown', async () => {
		const frame = await (await page.$('#video')).contentFrame();
		await frame.waitForSelector('#player', { timeout: 10000 });
	});
	// ... and what is refused.
	await page.click('#inline-handler');
	await sleep(500);
	await t.check('a <style> element, an onclick attribute and a script do nothing', async () => {
		assert.equal(await page.$eval('#title', (e) => getComputedStyle(e).fontStyle), 'normal');
		assert.equal(await page.title(), 'HIPPO Gym');
		assert.equal(await page.locator('.step-content script').count(), 0);
	});
	await t.screenshot(page, 'step-content');
	await t.check('the policy reported exactly those refusals', () => {
		const seen = takeViolations(context, /^(style-src-elem|script-src-attr) /);
		const kinds = [...new Set(seen.map((v) => v.split(' ')[0]))].sort();
		assert.deepEqual(kinds, ['script-src-attr', 'style-src-elem'], seen.join(' | '));
		assert.ok(seen.some((v) => v.includes('http://styles.example.org/study.css')), seen.join(' | '));
	});

	// A page saying "You may exit now": no button, its own "Next" included.
	await page.check('input[name="agree"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("That is all")');
	t.ok(await page.locator('form.step :is(button, input[type="submit"])').count() === 0,
		'"You may exit now": no button, not even the page\'s own "Next"');
	t.ok((await layout(page)).step === 'Step 2 of 2', 'the exit page is still step 2 of 2');
	await t.screenshot(page, 'exit-page');
	t.ok(page.errors.filter((e) => !/Content Security Policy/.test(e)).length === 0,
		'no other errors in the browser console', page.errors.join(' | '));

	// Embedding: refused by default ...
	const PORTAL = await startPortal(t);
	const portal = await context.newPage();
	portal.errors = [];
	portal.on('console', (m) => m.type() === 'error' && portal.errors.push(m.text()));
	const blocked = await portalWith(portal, PORTAL, `${hippo.url}/?projectId=${PROJECT}&userId=csp-2`);
	await sleep(1000);
	t.ok(portal.errors.some((e) => /frame-ancestors/.test(e)) &&
		await blocked.$('form.step').catch(() => null) === null,
	'another site cannot embed the UI by default (frame-ancestors \'self\')', portal.errors.join(' | '));
	await t.screenshot(portal, 'embedded-refused');
	await portal.close();

	// ... allowed for the sites --frame-ancestors names.
	const open = await startHippo(t, [STUDY], ['--frame-ancestors', `'self' ${PORTAL}`]);
	const res2 = await fetch(`${open.url}/`);
	t.ok(res2.headers.get('content-security-policy').endsWith(`frame-ancestors 'self' ${PORTAL}`),
		'--frame-ancestors sets the sources of the header');
	const host = await context.newPage();
	const framed = await portalWith(host, PORTAL, `${open.url}/?projectId=${PROJECT}&userId=csp-3`);
	await t.check('a site named by --frame-ancestors embeds the UI, and the study works there', async () => {
		await framed.waitForSelector('form.step', { timeout: 20000 });
		await framed.check('input[name="agree"]');
		await framed.click('.step__submit');
		await framed.waitForSelector('h1:has-text("That is all")', { timeout: 20000 });
	});
	// (The embedded step page's <style> and onclick were refused there too.)
	takeViolations(context, /^(style-src-elem|script-src-attr) refused inline /);
	await t.screenshot(host, 'embedded-allowed');
	await host.close();
} catch (e) {
	t.ok(false, 'csp', e.stack);
}
await t.finish();
