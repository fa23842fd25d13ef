// Preview links in Chromium: each study's card on the Studies page links its
// preview; the link opens the participant page in a new tab, which shows the
// preview badge and walks the grouped study to its final page with an
// identity of its own (not the one this browser already took part with),
// while the Studies page's counts and group sizes stay the same; the
// participants page shows the preview only with its filter, marked.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, EXAMPLE, sleep } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/serve_groups');
const P = 'serve-groups';

const t = new Checks('console_preview');
try {
	const hippo = await startConsole(t, [STUDY, EXAMPLE]);
	for (const [u, posts] of [['a', 2], ['b', 1], ['c', 0]]) {
		await hippo.next(P, u);
		for (let k = 0; k < posts; k++)
			await hippo.next(P, u, { q: 'x' }, k + 1);
	}
	const { context, page } = await openConsole(t, hippo);
	const card = `[data-study="${P}"]`;
	await page.waitForSelector(`${card} a[data-k="preview"]`);
	const href = await page.getAttribute(`${card} a[data-k="preview"]`, 'href');
	await t.check('each study has its preview link: /?projectId=ID&preview=32 hex digits', async () => {
		assert.match(href, new RegExp(`^/\\?projectId=${P}&preview=[0-9a-f]{32}$`));
		assert.equal(await page.getAttribute(`${card} a[data-k="preview"]`, 'target'), '_blank');
		assert.ok(await page.$('[data-study="cartpole-demo"] a[data-k="preview"]'));
	});
	const stat = (k) => page.textContent(`${card} [data-k="${k}"]`);
	await until(async () => await stat('started') === '3');
	await t.screenshot(page, 'studies');

	// this browser already took part as a real participant
	const real = await context.newPage();
	await real.goto(`${hippo.url}/?projectId=${P}`);
	await real.waitForSelector('#app input[name]');
	const realUser = new URL(real.url()).searchParams.get('userId');
	await real.close();
	await until(async () => await stat('started') === '4');

	// the preview, in a new tab from the link
	const [tab] = await Promise.all([context.waitForEvent('page'), page.click(`${card} a[data-k="preview"]`)]);
	await tab.waitForSelector('#preview-badge');
	t.ok((await tab.textContent('#preview-badge')).includes('not counted'), 'the participant page shows the preview badge');
	const previewUser = new URL(tab.url()).searchParams.get('userId');
	t.ok(previewUser && previewUser !== realUser, 'the preview has an identity of its own');
	for (let k = 0; k < 2; k++) {
		await tab.waitForSelector('#app input[name]');
		await tab.fill('#app input[name]', 'preview answer');
		await tab.click('#app button[type=submit]');
		await sleep(300);
	}
	await tab.waitForSelector('text=You may exit now');
	t.ok(true, 'the preview walks the study to its final page');
	await t.screenshot(tab, 'preview-final');
	await tab.close();

	await sleep(5500); // the Studies page refreshes every 5 s
	t.ok(await stat('started') === '4' && await stat('completed') === '1',
		'the Studies page still counts 4 started, 1 completed');
	const sizes = (await hippo.api('studies')).json.studies.find((s) => s.id === P).groups[0].sizes;
	t.ok(sizes.reduce((a, b) => a + b, 0) === 4, `the groups hold the 4 real participants only (${sizes})`);
	t.ok((await page.textContent(`${card} .groups`)).includes(sizes.join(' / ')),
		'and the Studies page shows those sizes');
	await t.screenshot(page, 'studies-after');

	// the participants page: the preview only with the filter
	await page.click(`${card} a:has-text("Participants")`);
	await page.waitForSelector('#participants tbody tr[data-user]');
	t.ok(await page.$(`#participants tr[data-user="${previewUser}"]`) === null,
		'the participants page leaves the preview out');
	await page.selectOption('#f-preview', 'only');
	await page.waitForSelector(`#participants tr[data-user="${previewUser}"] [data-k="preview"]`);
	t.ok(await page.$$eval('#participants tbody tr[data-user]', (r) => r.length) === 1,
		'with the filter: only the preview, marked');
	await t.screenshot(page, 'participants-previews');
} catch (e) {
	t.ok(false, 'console preview', e.stack);
} finally {
	await t.finish();
}
