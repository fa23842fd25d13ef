// The researcher console's sign-in and studies pages in Chromium: /admin
// comes with a strict policy; a wrong token is refused; the token is kept in
// sessionStorage and sent as a header, never in a URL; the studies page and
// the funnel count what the store holds and follow it live; signing out
// forgets the token; too many wrong tokens get the server's 429 message;
// laptop and tablet widths lay out without horizontal scrolling.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, launch, sleep } from './lib.mjs';
import { TOKEN, signIn, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/serve_groups');
const P = 'serve-groups';

const t = new Checks('console_login');
try {
	const hippo = await startConsole(t, [STUDY]);
	const res = await fetch(`${hippo.url}/admin`);
	const csp = res.headers.get('content-security-policy') || '';
	await t.check('/admin carries a strict policy (own scripts and styles only, no framing)', () => {
		assert.equal(res.status, 200);
		assert.match(csp, /(^|; )default-src 'none'(;|$)/);
		assert.match(csp, /(^|; )script-src 'self'(;|$)/);
		assert.match(csp, /(^|; )style-src 'self'(;|$)/);
		assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
		assert.match(csp, /(^|; )frame-ancestors 'none'$/);
		assert.doesNotMatch(csp, /unsafe/);
	});

	const { context, page } = await launch(t);
	const urls = [];
	const authHeaders = [];
	page.on('request', (r) => {
		urls.push(r.url());
		if (r.url().includes('/api/'))
			authHeaders.push(r.headers().authorization || '');
	});

	await signIn(page, hippo, 'Ada', 'not-the-token');
	await page.waitForSelector('#login-error:has-text("Wrong token")');
	t.ok(await page.evaluate(() => sessionStorage.getItem('hippo.admin.token')) === null,
		'a wrong token is refused and not kept');
	await t.screenshot(page, 'wrong-token');

	// three participants: on step 1, on step 2, completed
	for (const [u, posts] of [['a', 0], ['b', 1], ['c', 2]]) {
		await hippo.next(P, u);
		for (let k = 0; k < posts; k++)
			await hippo.next(P, u, { q: 'x' }, k + 1);
	}
	await signIn(page, hippo, 'Ada');
	await page.waitForSelector('[data-study="serve-groups"]');
	await until(async () => await page.textContent('[data-study="serve-groups"] [data-k="started"]') === '3');
	const stat = async (k) => page.textContent(`[data-study="serve-groups"] [data-k="${k}"]`);
	t.ok(await stat('completed') === '1' && await stat('inProgress') === '2' && await stat('dropped') === '0',
		'the studies page shows 3 started, 1 completed, 2 in progress, 0 dropped');
	t.ok((await page.textContent('[data-study="serve-groups"] .groups')).includes('2 variants: '),
		'the studies page shows the groups and their sizes');
	t.ok(await page.evaluate(() => sessionStorage.getItem('hippo.admin.token')) === TOKEN,
		'the token is kept in sessionStorage');
	t.ok(await page.textContent('#who') === 'Ada', 'the name given at sign-in is shown');
	await t.screenshot(page, 'studies-laptop');

	// live: a new participant appears without a reload
	await hippo.next(P, 'd');
	await until(async () => await stat('started') === '4', 12000);
	t.ok(true, 'the studies page follows the store live (a 4th participant appears)');

	// the live switch
	await page.click('#live-serve-groups');
	await until(async () => (await hippo.api('studies')).json.studies[0].live === false);
	t.ok((await hippo.next(P, 'e')).status === 400, 'switching a study off in the page stops serving it');
	await page.click('#live-serve-groups');
	await until(async () => (await hippo.api('studies')).json.studies[0].live === true);

	// funnel
	await page.click('[data-study="serve-groups"] a:has-text("Funnel")');
	await page.waitForSelector('#funnel-chart svg');
	await until(async () => await page.textContent('#funnel-table tr[data-step="1"] [data-k="reached"]') === '4');
	const cell = (s, k) => page.textContent(`#funnel-table tr[data-step="${s}"] [data-k="${k}"]`);
	t.ok(await cell(1, 'here') === '2' && await cell(1, 'continued') === '2' &&
		await cell(2, 'reached') === '2' && await cell(3, 'reached') === '1',
	'the funnel table counts each step as the store does');
	t.ok(await page.textContent('#funnel-summary [data-k="rate"]') === '25.0 %',
		'the funnel shows the completion rate (1 of 4)');
	await until(async () => (await cell(1, 'median')) !== '–');
	t.ok(/\d/.test(await cell(1, 'median')) && /\d/.test(await cell(1, 'p90')),
		'the funnel shows the median and 90th percentile time of a step');
	const chartText = await page.textContent('#funnel-chart svg');
	t.ok(chartText.includes('4 reached') && chartText.includes('1 finished') &&
		await page.locator('#funnel-chart svg .bar-here').count() > 0,
	'the funnel chart writes its numbers and tells the parts apart by pattern');
	await hippo.next(P, 'd', { q: 'y' }, 1);
	await until(async () => await cell(2, 'reached') === '3', 10000);
	t.ok(true, 'the funnel follows the store live');
	await t.screenshot(page, 'funnel-laptop');

	const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	t.ok(await overflow() <= 0, 'laptop width: no horizontal scrolling');
	await page.setViewportSize({ width: 768, height: 1024 });
	await sleep(300);
	t.ok(await overflow() <= 0, 'tablet width (768 px): the funnel has no horizontal scrolling');
	const cut = await page.evaluate(() => {
		const box = document.querySelector('#funnel-table').closest('.table-box');
		const edge = Math.min(window.innerWidth, box.getBoundingClientRect().right);
		const out = [...document.querySelectorAll('#funnel-table thead th')]
			.filter((th) => th.getBoundingClientRect().right > edge + 0.5).map((th) => th.textContent);
		return { out, scroll: box.scrollWidth - box.clientWidth };
	});
	t.ok(cut.out.length === 0 && cut.scroll <= 0,
		`tablet width: every column of the funnel table is in view (cut: ${cut.out.join(', ') || 'none'})`);
	await t.screenshot(page, 'funnel-tablet');
	await page.goto(`${hippo.url}/admin#/studies`);
	await page.waitForSelector('[data-study="serve-groups"]');
	t.ok(await overflow() <= 0, 'tablet width: the studies page has no horizontal scrolling');
	t.ok(await page.evaluate(() => sessionStorage.getItem('hippo.admin.token')) === TOKEN,
		'a reload keeps the tab signed in');
	await t.screenshot(page, 'studies-tablet');

	t.ok(!urls.some((u) => u.includes(TOKEN)), 'the token never appears in a URL');
	t.ok(authHeaders.length > 5 && authHeaders.filter((a) => a).every((a) => a === `Bearer ${TOKEN}` ||
		a === 'Bearer not-the-token'), 'API requests carry the token in the Authorization header');

	// a new tab of its own has no token
	const other = await context.newPage();
	await other.goto(`${hippo.url}/admin#/studies`);
	await other.waitForSelector('#login');
	t.ok(true, 'another tab must sign in (the token is per tab)');
	await other.close();

	await page.click('#logout');
	await page.waitForSelector('#login');
	t.ok(await page.evaluate(() => sessionStorage.getItem('hippo.admin.token')) === null,
		'signing out forgets the token');

	// too many wrong tokens: the server's 429 message
	for (let k = 0; k < 10; k++)
		await hippo.api('studies', { token: `guess-${k}` });
	await signIn(page, hippo, 'Ada', 'guess-11');
	await page.waitForSelector('#login-error:has-text("too many failed logins")');
	t.ok(true, 'after too many wrong tokens the page says to wait (429)');
	await t.screenshot(page, 'rate-limited');
	const errs = page.errors.filter((e) => !/status of (401|429)/.test(e));
	t.ok(errs.length === 0, 'no script errors (beyond the refusals provoked)', errs.join(' | '));
} catch (e) {
	t.ok(false, 'console login test', e.stack);
} finally {
	await t.finish();
}
