// Step forms with every field type (tests/browser/fixtures/fields): the
// answers are sent as one JSON object exactly as entered, required fields are
// enforced, the button is disabled while sending, an error from the server
// is shown beside the form, a page with its own submit button gets no extra
// one (nor a form of its own), the final page shows no button (not even
// its own "Next", which could only do nothing), and the `css` and `redirect`
// link parameters work.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, startHippo, launch, layout, sleep } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, 'fixtures/fields');
const PROJECT = 'fields-test';
// A researcher's stylesheet on their own https site (answered by the test:
// no network), as the Content-Security-Policy allows.
const EXTRA_CSS = 'https://styles.example.org/study.css';

const t = new Checks('fields');
try {
	const hippo = await startHippo(t, [STUDY]);
	const { page } = await launch(t);
	await page.route(EXTRA_CSS, (r) => r.fulfill({ contentType: 'text/css',
		body: '.site-footer { border-top-color: rgb(1, 2, 3); }' }));
	const posts = [];
	page.on('request', (r) => {
		if (r.method() === 'POST' && new URL(r.url()).pathname === '/next')
			posts.push({ url: r.url(), body: r.postData() });
	});
	const redirect = `${hippo.url}/favicon.svg?finished=1`;
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&userId=fields_user-1` +
		`&css=${encodeURIComponent(EXTRA_CSS)}&redirect=${encodeURIComponent(redirect)}`);
	await page.waitForSelector('form.step');
	t.ok(await page.evaluate(() => getComputedStyle(document.querySelector('.site-footer')).borderTopColor)
		=== 'rgb(1, 2, 3)', 'the css parameter adds a stylesheet');
	t.ok((await layout(page)).step === 'Step 1 of 2', 'the header shows "Step 1 of 2"');

	// Required fields block the submit.
	await page.click('.step__submit');
	await sleep(300);
	t.ok(posts.length === 0, 'nothing is sent while required fields are empty');
	const invalid = await page.$$eval(':invalid', (es) => es.filter((e) => e.name).map((e) => e.name));
	await t.check('the required text, select and radio group are marked invalid', () => {
		for (const n of ['name', 'device', 'liked'])
			assert.ok(invalid.includes(n), `invalid: ${invalid.join(',')}`);
	});

	// Fill every type.
	const name = '  Ada  Lovelace ';
	const comments = 'line one\n  line two\twith a tab\n\n"quoted" \\ back-slash, ünïcödé ✓';
	await page.fill('#name', name);
	await page.fill('#email', 'ada@example.org');
	await page.fill('#comments', comments);
	await page.fill('#age', '36.50');
	await page.focus('#effort'); // 4 -> 6 with the keyboard
	await page.keyboard.press('ArrowRight');
	await page.keyboard.press('ArrowRight');
	await page.selectOption('#device', 'phone');
	await page.selectOption('#langs', ['en', 'de']);
	await page.check('input[name="liked"][value="unsure"]');
	await page.check('input[name="used"][value="keyboard"]');
	await page.check('input[name="used"][value="touch"]');
	await page.check('input[name="newsletter"]');
	await t.screenshot(page, 'fields-filled');

	// A server error is shown beside the form: a body over the server's 1 MB limit.
	await page.fill('#comments', 'x'.repeat(1100 * 1024));
	await page.click('.step__submit');
	await t.check('an error from the server is shown in the form', async () => {
		await page.waitForSelector('.form-error:not([hidden])', { timeout: 15000 });
		const msg = await page.locator('.form-error').textContent();
		assert.ok(msg.length > 0, 'empty message');
	});
	t.ok(await page.locator('.step__submit').isEnabled(), 'the button is enabled again after the error');
	t.ok((await layout(page)).step === 'Step 1 of 2', 'the form stays on step 1 after the error');
	await t.screenshot(page, 'server-error');
	await page.fill('#comments', comments);

	// The button is disabled while the answer is on its way (the network is slowed down).
	const isNext = (u) => u.pathname === '/next';
	await page.route(isNext, async (route) => {
		if (route.request().method() === 'POST')
			await sleep(800);
		await route.continue();
	});
	const nposts = posts.length;
	await page.click('.step__submit');
	await sleep(150);
	const state = await page.$eval('.step__submit', (b) => ({ disabled: b.disabled, text: b.textContent }))
		.catch(() => null);
	t.ok(state && state.disabled && /Sending/.test(state.text), 'the button is disabled while sending',
		JSON.stringify(state));
	await page.waitForSelector('h1:has-text("Almost done")');
	await page.unroute(isNext);
	t.ok(posts.length === nposts + 1, 'one POST for one click');
	await t.check('every field is sent exactly as entered', () => {
		assert.deepEqual(JSON.parse(posts[posts.length - 1].body), {
			name,
			email: 'ada@example.org',
			comments,
			age: '36.50',
			effort: '6',
			device: 'phone',
			langs: ['en', 'de'],
			liked: 'unsure',
			used: ['keyboard', 'touch'],
			skipped: '',
			contact: '',
			newsletter: 'on',
			version: 'form-2',
		});
	});

	// A page with its own submit button gets no extra one.
	t.ok(await page.locator('.step__submit').count() === 0 &&
		await page.locator('form.step button[type="submit"]').count() === 1,
	'a page with its own submit button gets no extra one');
	t.ok((await layout(page)).step === 'Step 2 of 2', 'the header shows "Step 2 of 2"');
	await t.screenshot(page, 'own-button');
	await page.click('form.step button[type="submit"]');
	await page.waitForSelector('.code-box');
	await t.check('a step file\'s own <form> is merged into the page\'s form', () => {
		assert.deepEqual(JSON.parse(posts[posts.length - 1].body), { inner: 'kept' });
	});

	// Final page, then the redirect.
	await page.waitForSelector('.code-box');
	t.ok(await page.locator('.code-box__value').textContent() === 'fields_user-1',
		'the MTURK_CODE span becomes the completion code box');
	t.ok((await layout(page)).step === 'Complete', 'the header says "Complete"');
	t.ok(await page.locator('form.step :is(button[type="submit"], button:not([type]), ' +
		'input[type="submit"])').count() === 0 &&
		await page.getByRole('button', { name: 'Next' }).count() === 0,
	'the final page shows no submit button, not even its own "Next"');
	t.ok(await page.locator('#redirect a').getAttribute('href') === redirect,
		'the redirect is announced with a link');
	await t.screenshot(page, 'final-redirect');
	await t.check('the redirect parameter takes the participant there', () =>
		page.waitForURL(redirect, { timeout: 20000 }));
	t.ok(page.errors.length === 0 || page.errors.every((e) => /413|Payload Too Large|Failed to load/.test(e)),
		'no errors in the browser console but the refused body', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'fields', e.stack);
}
await t.finish();
