// Reloading the page on every step of the example study continues the same
// participant on the same step: the userId is kept in the URL and in
// localStorage, GET /next never advances, and a reload during the game
// reconnects to the same game session.
import { Checks, startHippo, launch, layout, playUntilDone, jsonMessages, sleep } from './lib.mjs';

const PROJECT = 'cartpole-demo';

const t = new Checks('reload');
try {
	const hippo = await startHippo(t);
	const { page } = await launch(t);
	const heading = () => page.locator('form.step h1').first().textContent();

	await page.goto(`${hippo.url}/?projectId=${PROJECT}`);
	await page.waitForSelector('form.step');
	const userId = new URL(page.url()).searchParams.get('userId');
	t.ok(!!userId, 'the landing page makes a userId', userId);

	await page.reload();
	await page.waitForSelector('form.step');
	t.ok(new URL(page.url()).searchParams.get('userId') === userId, 'reload on consent: same userId');
	t.ok(/Consent/.test(await heading()), 'reload on consent: still the consent page');

	// The link without userId again: the browser's stored participant goes on.
	await page.goto(`${hippo.url}/?projectId=${PROJECT}`);
	await page.waitForSelector('form.step');
	t.ok(new URL(page.url()).searchParams.get('userId') === userId,
		'opening the study link again in this browser continues the same participant');
	await t.screenshot(page, 'consent-reloaded');

	await page.check('input[name="consent"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("Instructions")');
	await page.reload();
	await page.waitForSelector('form.step');
	t.ok(/Instructions/.test(await heading()), 'reload on instructions: still the instructions page');
	t.ok((await layout(page)).step === 'Step 2 of 4', 'reload on instructions: "Step 2 of 4"');
	await t.screenshot(page, 'instructions-reloaded');

	// The game: reload while it is on screen, the same session goes on.
	await page.click('.step__submit');
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	const frameId = () => page.$eval('#frame', (c) => Number(c.dataset.frameId || 0));
	const before = await frameId();
	t.ok(before > 0, 'a frame is shown before the reload', before);
	const socketsBefore = page.sockets.length;
	await page.reload();
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	t.ok(page.sockets.length === socketsBefore + 1, 'reload on the game opens a new websocket');
	const hs = jsonMessages(page.wsSent).filter((m) => 'userId' in m);
	t.ok(hs.length >= 2 && hs[hs.length - 1].userId === userId,
		'the new websocket\'s handshake names the same participant');
	const after = await frameId();
	const trialIds = page.sockets.map((ws) => jsonMessages(ws.received).find((m) => m.hello))
		.filter(Boolean).map((m) => m.hello.trialId);
	t.ok(trialIds.length >= 2 && trialIds.every((x) => x === trialIds[0]) && after >= before,
		'the same game session goes on (same trial, frame numbers continue)',
		`${trialIds.join(' ')}; frames ${before} -> ${after}`);
	t.ok(await page.locator('#frame-hint').isVisible(), 'after the reload, the frame says "Press Start to play"');
	await sleep(300);
	await t.screenshot(page, 'game-reloaded');
	t.ok((await layout(page)).step === 'Step 3 of 4', 'reload on the game: "Step 3 of 4"');

	await t.check('after the reload the game is played until "done"', () => playUntilDone(page));
	await page.click('.modal button');
	await page.waitForSelector('h1:has-text("A few questions")');
	await page.reload();
	await page.waitForSelector('form.step');
	t.ok(/A few questions/.test(await heading()), 'reload on the survey: still the survey');
	await t.screenshot(page, 'survey-reloaded');

	await page.check('input[name="difficulty"][value="easy"]');
	await page.fill('#strategy', 'reloaded');
	await page.selectOption('#games', 'never');
	await page.click('.step__submit');
	await page.waitForSelector('.code-box');
	await page.reload();
	await page.waitForSelector('.code-box');
	t.ok(await page.locator('.code-box__value').textContent() === userId,
		'reload on the final page: the same completion code');
	await t.screenshot(page, 'final-reloaded');

	// The server agrees: the participant is on the final step.
	const r = await page.evaluate(async ([p, u]) => {
		const a = await fetch(`/next?projectId=${p}&userId=${u}`).then((x) => x.json());
		return a.step;
	}, [PROJECT, userId]);
	t.ok(r === 5, 'the participant is on the final step after the journey', r);
	t.ok(page.errors.filter((e) => !/WebSocket/.test(e)).length === 0, 'no errors in the browser console',
		page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'reload', e.stack);
}
await t.finish();
