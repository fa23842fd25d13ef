// The participants table and a participant's page in Chromium: filters by
// step, state, group and crowd id, paging; a participant's answers shown as
// text (an answer holding <script> and an <img onerror> is displayed, never
// run), their timeline, episodes from their record files, a file download.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, sleep } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/serve_groups');
const P = 'serve-groups';
const EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">' +
	'<b>bold?</b> & "quotes"\nsecond line';

const t = new Checks('console_people');
try {
	const hippo = await startConsole(t, [STUDY]);
	// 55 participants on step 1, 3 on step 2 (one from Prolific), 2 completed
	for (let i = 0; i < 55; i++)
		await hippo.next(P, `wait-${String(i).padStart(2, '0')}`);
	for (const u of ['mid-1', 'mid-2'])
		await hippo.next(P, u, { q: 'x' }, 1);
	await fetch(`${hippo.url}/next?projectId=${P}&userId=crowd-1&PROLIFIC_PID=PP5f3e2a`);
	await hippo.next(P, 'crowd-1', { q: 'x' }, 1);
	for (const u of ['done-1', 'evil']) {
		await hippo.next(P, u);
		await hippo.next(P, u, { name: u === 'evil' ? EVIL : 'fine' }, 1);
		await hippo.next(P, u, { rating: '4' }, 2);
	}
	// a record file, as a game would have left it
	const dir = path.join(hippo.data, P, 'trials', 'evil');
	fs.mkdirSync(dir, { recursive: true });
	const lines = [];
	for (let ep = 1; ep <= 2; ep++) {
		lines.push({ userId: 'evil', projectId: P, trialId: 'T1', episode: ep, step: 0, frameId: 1, t: 1000 * ep, reset: true, observation: [0] });
		for (let s = 1; s <= 3; s++)
			lines.push({ userId: 'evil', projectId: P, trialId: 'T1', episode: ep, step: s, frameId: s, t: 1000 * ep + s * 33, action: 1, reward: ep, terminated: s === 3, truncated: false, observation: [s], fps: 30, rttMs: 2, inputs: s === 2 ? [{ t: 1, msg: { feedback: 'good' } }] : [] });
	}
	fs.writeFileSync(path.join(dir, 'episode_1.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

	const { page } = await openConsole(t, hippo);
	await page.waitForSelector('[data-study="serve-groups"]');
	await page.click('[data-study="serve-groups"] a:has-text("Participants")');
	await page.waitForSelector('#participants tbody tr[data-user]');
	await until(async () => (await page.textContent('#page-info')).includes('of 60'));
	t.ok(await page.locator('#participants tbody tr[data-user]').count() === 50,
		'the table shows a page of 50 of the 60 participants');
	t.ok(await page.getAttribute('#participants tbody tr:first-child', 'data-user') === 'evil',
		'newest first');
	await page.click('#next');
	await until(async () => (await page.textContent('#page-info')) === '51–60 of 60');
	t.ok(await page.locator('#participants tbody tr[data-user]').count() === 10, 'the next page has the other 10');
	await page.selectOption('#f-step', '2');
	await until(async () => (await page.textContent('#page-info')) === '1–3 of 3');
	t.ok(true, 'filter by step: the 3 on step 2');
	await page.selectOption('#f-step', '');
	await page.selectOption('#f-status', 'completed');
	await until(async () => (await page.textContent('#page-info')) === '1–2 of 2');
	const users = await page.$$eval('#participants tbody tr[data-user]', (rs) => rs.map((r) => r.dataset.user).sort());
	t.ok(users.join() === 'done-1,evil', 'filter by state: the 2 completed', users.join());
	await page.selectOption('#f-status', '');
	const groups = (await hippo.api('studies')).json.studies[0].groups[0].sizes;
	await page.selectOption('#f-group', '2:0');
	await until(async () => (await page.textContent('#page-info')).endsWith(`of ${groups[0]}`));
	t.ok(true, `filter by group: group 0 of 2 has its ${groups[0]} participants`);
	await page.selectOption('#f-group', '');
	await page.fill('#f-q', 'PP5f3e2a');
	await until(async () => (await page.textContent('#page-info')) === '1–1 of 1');
	t.ok(await page.getAttribute('#participants tbody tr[data-user]', 'data-user') === 'crowd-1',
		'search by a crowd id (PROLIFIC_PID) finds its participant');
	await t.screenshot(page, 'participants');
	await page.fill('#f-q', 'evil');
	await until(async () => (await page.textContent('#page-info')) === '1–1 of 1');
	await page.click('#participants a:has-text("evil")');

	await page.waitForSelector('#answers table');
	const cell = await page.$eval('#answers table[data-step="1"] td.answer', (e) => e.textContent);
	t.ok(cell === EVIL, 'the answer is shown as the text it is (markup included)', JSON.stringify(cell));
	t.ok(await page.locator('#answers script, #answers img, #answers b').count() === 0,
		'no element was made from the answer');
	await sleep(500);
	t.ok(await page.evaluate(() => window.__pwned) === undefined, 'the answer\'s script never ran');
	t.ok((await page.textContent('#timeline')).includes('POST /next → step 2'), 'the timeline lists the requests');
	t.ok(await page.locator('#episodes tbody tr[data-episode]').count() === 2 &&
		await page.textContent('#episodes tr[data-episode="2"] [data-k="return"]') === '6',
	'episodes from the record file, with their returns');
	t.ok(await page.locator('section:has(#episodes) svg.line-chart circle').count() === 2,
		'the returns chart has a point per episode');
	const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-file="episode_1.jsonl"]')]);
	const got = fs.readFileSync(await dl.path(), 'utf8');
	t.ok(got === fs.readFileSync(path.join(dir, 'episode_1.jsonl'), 'utf8') && dl.suggestedFilename() === 'episode_1.jsonl',
		'a file downloads with its exact bytes');
	await t.screenshot(page, 'participant');
	await page.setViewportSize({ width: 768, height: 1024 });
	await sleep(300);
	t.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 0,
		'tablet width: no horizontal scrolling on a participant\'s page');
	await t.screenshot(page, 'participant-tablet');

	const r = await hippo.api(`projects/${P}/participants/evil/files/..%2Fhippo.db`);
	t.ok(r.status === 400 || r.status === 404, `a file name leaving the folder is refused (${r.status})`);
	const r2 = await hippo.api(`projects/${P}/participants/nobody`);
	t.ok(r2.status === 404, 'an unknown participant: 404');

	// withdrawal from the participant's page, confirmed with the userId
	await page.setViewportSize({ width: 1280, height: 800 });
	await page.goto(`${hippo.url}/admin#/participant/${P}/done-1`);
	await page.waitForSelector('#withdraw');
	await page.click('#withdraw');
	await page.waitForSelector('#withdraw-dialog[open]');
	t.ok(await page.isDisabled('#withdraw-go'), 'the dialog will not delete before the userId is typed');
	await page.fill('#withdraw-confirm', 'done-1');
	await t.screenshot(page, 'withdraw-dialog');
	await page.click('#withdraw-go');
	await page.waitForSelector('#notice:has-text("done-1 withdrawn")');
	t.ok((await hippo.api(`projects/${P}/participants/done-1`)).status === 404,
		'the withdrawn participant is gone from the store');
	await page.click('#nav a[data-nav="audit"]');
	await page.waitForSelector('#audit tr[data-action="withdraw"]');
	t.ok((await page.textContent('#audit tr[data-action="withdraw"]')).includes('Test Researcher'),
		'the audit page lists the withdrawal and who did it');
	await t.screenshot(page, 'audit');

	// the data page: the completed participants' archive
	await page.click('#nav a[data-nav="data"]');
	await page.waitForSelector('[data-study="serve-groups"] [data-state="completed"]');
	const [tgz] = await Promise.all([page.waitForEvent('download'),
		page.click('[data-study="serve-groups"] [data-state="completed"]')]);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hippo-tgz-'));
	t.onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
	execFileSync('tar', ['-xzf', await tgz.path(), '-C', tmp]);
	const csvText = fs.readFileSync(path.join(tmp, P, 'export', 'participants.csv'), 'utf8');
	t.ok(tgz.suggestedFilename() === 'serve-groups-completed.tar.gz' && csvText.includes('evil') &&
		!csvText.includes('wait-00') && !csvText.includes('done-1'),
	'the data page downloads the completed participants\' tables (the CSV opens, only them)');
	t.ok(fs.existsSync(path.join(tmp, P, 'trials', 'evil', 'episode_1.jsonl')),
		'and their record files');
	await t.screenshot(page, 'data');
	t.ok(page.errors.length === 0, 'no script errors', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'console participants test', e.stack);
} finally {
	await t.finish();
}
