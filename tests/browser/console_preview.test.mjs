// A study's preview link in Chromium: the Studies page links it; a
// researcher who opens it sees the preview badge, walks the grouped study to
// its end, and leaves the study's counts and group sizes as they were; the
// participants table shows the preview only with its filter, marked as one.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, launch } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/serve_groups');
const P = 'serve-groups';

const t = new Checks('console_preview');
try {
	const hippo = await startConsole(t, [STUDY]);
	for (const u of ['ann', 'ben', 'cat']) {
		await hippo.next(P, u);
		await hippo.next(P, u, { q1: 'x' }, 1);
		await hippo.next(P, u, { q2: 'fine' }, 2);
	}
	const study = async () => (await hippo.api('studies')).json.studies.find((s) => s.id === P);
	const before = await study();

	const { page } = await openConsole(t, hippo);
	await page.waitForSelector(`[data-study="${P}"] a[data-preview="${P}"]`);
	const href = await page.getAttribute(`a[data-preview="${P}"]`, 'href');
	t.ok(/^\/\?projectId=serve-groups&preview=[A-Za-z0-9_-]{32}$/.test(href),
		'the Studies page links the study\'s preview', href);
	await t.screenshot(page, 'studies');

	const pv = await launch(t, { viewport: { width: 1000, height: 760 } });
	await pv.page.goto(`${hippo.url}${href}`);
	await pv.page.waitForSelector('form.step');
	t.ok(await pv.page.isVisible('#preview-badge'), 'the participant page shows the preview badge');
	const uid = new URL(pv.page.url()).searchParams.get('userId');
	t.ok(uid && uid.length > 8, 'the preview gets an identity of its own', uid);
	await t.screenshot(pv.page, 'preview-step');
	await pv.page.click('.step__submit');
	await pv.page.waitForSelector('input[name="q2"]');
	await pv.page.fill('input[name="q2"]', 'previewed');
	await pv.page.click('.step__submit');
	await pv.page.waitForSelector('body[data-view="final"]');
	t.ok(await pv.page.isVisible('#preview-badge'), 'the preview walks the study to its final page');
	await t.screenshot(pv.page, 'preview-final');
	await pv.page.setViewportSize({ width: 360, height: 740 });
	await pv.page.waitForTimeout(200);
	t.ok(await pv.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 0 &&
		await pv.page.isVisible('#preview-badge'),
	'phone width: the badge fits the header, no horizontal scrolling');
	await t.screenshot(pv.page, 'preview-phone');

	const after = await study();
	t.ok(after.started === before.started && after.completed === before.completed &&
		JSON.stringify(after.groups) === JSON.stringify(before.groups),
	'the study\'s counts and group sizes are as they were', JSON.stringify([before, after]));

	await page.click(`[data-study="${P}"] a:has-text("Participants")`);
	await page.waitForSelector('#participants tbody tr[data-user]');
	await until(async () => (await page.textContent('#page-info')).includes('of 3'));
	t.ok(await page.locator(`#participants tr[data-user="${uid}"]`).count() === 0,
		'the participants table leaves the preview out');
	await page.check('#f-preview');
	await until(async () => (await page.textContent('#page-info')).includes('of 4'));
	t.ok(await page.locator(`#participants tr[data-user="${uid}"] [data-k="preview"]`).count() === 1,
		'with "Previews too" it shows the preview, marked as one');
	await t.screenshot(page, 'participants-previews');
	t.ok(page.errors.length === 0 && pv.page.errors.length === 0, 'no script errors',
		[...page.errors, ...pv.page.errors].join(' | '));
} catch (e) {
	t.ok(false, 'console preview test', e.stack);
} finally {
	await t.finish();
}
