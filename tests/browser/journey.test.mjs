// A whole participant journey through the example study (examples/cartpole)
// in headless Chromium against `hippo serve`: consent (checkbox required),
// instructions, the game played with the keyboard until the server says
// done, the survey, the final page with the completion code. Screenshots of
// every page go to out/journey/.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Checks, EXAMPLE, startHippo, launch, layout, playUntilDone, jsonMessages, sleep } from './lib.mjs';

const PROJECT = 'cartpole-demo';
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const t = new Checks('journey');
try {
	const hippo = await startHippo(t);
	const { context, page } = await launch(t);
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hippo.url });
	const posts = [];
	page.on('request', (r) => {
		if (r.method() === 'POST' && new URL(r.url()).pathname === '/next')
			posts.push({ url: r.url(), body: r.postData() });
	});

	// Landing: a userId is made and kept in the URL and localStorage.
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&PROLIFIC_PID=pp123&STUDY_ID=st9`);
	await page.waitForSelector('form.step');
	const userId = new URL(page.url()).searchParams.get('userId');
	t.ok(UUID4.test(userId || ''), 'a UUID v4 userId is generated and put in the URL', userId);
	const stored = await page.evaluate((p) => localStorage.getItem(`hippo.${p}`), PROJECT);
	t.ok(stored && JSON.parse(stored).userId === userId, 'the userId is kept in localStorage', stored);
	t.ok(new URL(page.url()).searchParams.get('PROLIFIC_PID') === 'pp123',
		'crowdsourcing parameters stay in the URL');

	// Consent.
	let l = await layout(page);
	t.ok(l.styled, 'the stylesheet is applied');
	t.ok(l.step === 'Step 1 of 4', 'the header shows "Step 1 of 4"', l.step);
	t.ok(l.overflowX <= 0, 'no horizontal overflow', l.overflowX);
	t.ok(await page.locator('h1', { hasText: 'Consent' }).count() === 1, 'the consent page is shown');
	await t.screenshot(page, 'consent');
	await page.click('.step__submit');
	await sleep(300);
	t.ok(posts.length === 0, 'Next without the required checkbox sends nothing');
	t.ok(await page.evaluate(() => document.querySelector('input[name="consent"]').matches(':invalid')),
		'the unchecked consent box is marked invalid');
	await page.check('input[name="consent"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("Instructions")');
	t.ok(posts.length === 1, 'one POST for the consent page', posts.length);
	await t.check('the consent answer is sent as JSON {"consent":"yes"}', () => {
		assert.deepEqual(JSON.parse(posts[0].body), { consent: 'yes' });
	});
	await t.check('the POST carries the ids, the crowdsourcing ids and the step answered', () => {
		const q = new URL(posts[0].url).searchParams;
		assert.equal(q.get('projectId'), PROJECT);
		assert.equal(q.get('userId'), userId);
		assert.equal(q.get('PROLIFIC_PID'), 'pp123');
		assert.equal(q.get('STUDY_ID'), 'st9');
		assert.equal(q.get('step'), '1');
	});
	await t.check('and the version of the page answered: the SHA-256 of consent.html', () => {
		const file = fs.readFileSync(path.join(EXAMPLE, 'StepFiles', 'consent.html'));
		const want = crypto.createHash('sha256').update(file).digest('hex');
		assert.equal(new URL(posts[0].url).searchParams.get('pageHash'), want);
	});

	// Instructions.
	l = await layout(page);
	t.ok(l.step === 'Step 2 of 4', 'the header shows "Step 2 of 4"', l.step);
	await t.screenshot(page, 'instructions');
	await page.keyboard.press('Tab'); // keyboard only: Tab to the button, Enter
	let focused = await page.evaluate(() => document.activeElement.className);
	for (let i = 0; i < 5 && !focused.includes('step__submit'); i++) {
		await page.keyboard.press('Tab');
		focused = await page.evaluate(() => document.activeElement.className);
	}
	t.ok(focused.includes('step__submit'), 'the Next button is reachable with Tab', focused);
	await page.keyboard.press('Enter');

	// Waiting (if the session is not ready at once), then the game.
	await page.waitForFunction(() => ['wait', 'game'].includes(document.body.dataset.view));
	if (await page.evaluate(() => document.body.dataset.view) === 'wait') {
		t.ok(await page.locator('.spinner').count() === 1, 'the waiting page shows a spinner');
		await t.screenshot(page, 'waiting');
	}
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden,
		null, { timeout: 60000 });
	await page.waitForSelector('#conn.conn--ok');
	await sleep(500);
	l = await layout(page);
	t.ok(l.step === 'Step 3 of 4', 'the game page shows "Step 3 of 4"', l.step);
	await t.check('the frame keeps its aspect ratio', () => {
		const want = l.canvas.w / l.canvas.h;
		const got = l.frame.w / l.frame.h;
		assert.ok(Math.abs(got - want) / want < 0.02, `shown ${got.toFixed(3)}, frame ${want.toFixed(3)}`);
	});
	t.ok(l.frame.x >= 0 && l.frame.x + l.frame.w <= 1280 && l.frame.y + l.frame.h <= 800 + 200,
		'the frame fits the window', JSON.stringify(l.frame));
	const controls = await page.$$eval('#controls [data-control]', (bs) => bs.map((b) => b.dataset.control));
	await t.check('the controls are exactly the UI list of the example (left, right, start, pause)', () => {
		assert.deepEqual([...controls].sort(), ['left', 'pause', 'right', 'start']);
	});
	t.ok(await page.locator('#instructions li').count() > 0, 'the instructions panel is filled');
	const shownDisplay = () => page.$$eval('#display .display__item',
		(es) => Object.fromEntries(es.map((e) => [e.dataset.key, e.querySelector('dd').textContent])));
	await t.check('the display panel shows episode 1 / 3, score 0, step 0 (binary frames)', async () => {
		await page.waitForFunction(() => document.querySelector('#display [data-key="episode"]'),
			null, { timeout: 15000 });
		assert.deepEqual(await shownDisplay(), { episode: '1 / 3', score: '0', step: '0' });
	});
	t.ok(await page.locator('#frame-hint').isVisible(), 'before Start, the frame says "Press Start to play"');
	await t.screenshot(page, 'game');
	const before = await layout(page);

	// Page visibility is reported. Headless Chromium never hides a page, so
	// the change is simulated in the page; the message goes to the real server.
	await page.evaluate(() => {
		for (const v of ['hidden', 'visible']) {
			Object.defineProperty(document, 'visibilityState', { value: v, configurable: true });
			document.dispatchEvent(new Event('visibilitychange'));
		}
		delete document.visibilityState;
	});
	await sleep(300);
	await t.check('visibility changes are sent to the server', () => {
		const vis = jsonMessages(page.wsSent).filter((m) => 'visibility' in m).map((m) => m.visibility);
		assert.deepEqual(vis, ['hidden', 'visible']);
	});

	// Play with the keyboard until the server sends done.
	const presses = await t.check('the game is played with the arrow keys until "done"',
		() => playUntilDone(page));
	const after = await layout(page);
	t.ok(!(await page.locator('#frame-hint').isVisible()), 'once started, the hint is gone');
	await t.check('at the end the display shows the last episode and its final score', async () => {
		const d = await shownDisplay();
		assert.equal(d.episode, '3 / 3');
		assert.ok(Number(d.step) > 0 && d.score === d.step, JSON.stringify(d));
	});
	t.ok(JSON.stringify(before.frameBox) === JSON.stringify(after.frameBox),
		'the frame box does not move or resize while playing',
		`${JSON.stringify(before.frameBox)} -> ${JSON.stringify(after.frameBox)}`);
	t.ok(await page.locator('.modal', { hasText: 'You have completed this part' }).count() === 1,
		'the end-of-game modal says "You have completed this part"');
	await t.screenshot(page, 'game-done');

	const sent = jsonMessages(page.wsSent);
	await t.check('the handshake is the first message, with userId and projectId', () => {
		assert.equal(sent[0].userId, userId);
		assert.equal(sent[0].projectId, PROJECT);
	});
	await t.check('arrow keys send left/right actions and key release sends noop', () => {
		const acts = sent.filter((m) => 'action' in m).map((m) => m.action);
		assert.ok(acts.includes('left') && acts.includes('right') && acts.includes('noop'),
			`actions: ${[...new Set(acts)].join(',')}`);
		assert.ok(typeof presses === 'number' && presses > 0);
	});
	await t.check('every message after the first frame carries frameId, frameCount and sinceFrameMs', () => {
		const acts = sent.filter((m) => 'action' in m);
		assert.ok(acts.length > 0);
		for (const m of acts) {
			assert.ok(Number.isInteger(m.frameId) && m.frameId > 0, JSON.stringify(m));
			assert.ok(Number.isInteger(m.frameCount) && m.frameCount >= 1, JSON.stringify(m));
			assert.ok(typeof m.sinceFrameMs === 'number' && m.sinceFrameMs >= 0, JSON.stringify(m));
		}
	});
	await t.check('the start command reports the browser and system', () => {
		const s = sent.find((m) => m.command === 'start');
		assert.ok(s, 'no start command');
		assert.equal(s.browser, 'Chrome');
		assert.ok(s.browserVersion && s.system);
	});
	const pings = jsonMessages(page.wsReceived).filter((m) => 'ping' in m);
	if (pings.length) {
		await t.check('the server\'s pings are answered with pongs', () => {
			const pongs = new Set(sent.filter((m) => 'pong' in m).map((m) => JSON.stringify(m.pong)));
			for (const p of pings)
				assert.ok(pongs.has(JSON.stringify(p.ping)), `ping ${JSON.stringify(p.ping)} unanswered`);
		});
	}
	t.ok(page.wsReceived.includes('done'), 'the server sent "done"');
	const errs = jsonMessages(page.wsReceived).filter((m) => 'error' in m);
	t.ok(errs.length === 0, 'the trial server accepted every message', JSON.stringify(errs));

	// Survey.
	await page.click('.modal button');
	await page.waitForSelector('h1:has-text("A few questions")');
	l = await layout(page);
	t.ok(l.step === 'Step 4 of 4', 'the survey shows "Step 4 of 4"', l.step);
	await t.screenshot(page, 'survey');
	const nposts = posts.length;
	await page.click('.step__submit');
	await sleep(300);
	t.ok(posts.length === nposts, 'the survey is not sent while required answers are missing');
	await page.check('input[name="difficulty"][value="moderate"]');
	await page.fill('#strategy', '  Keep the cart   centred, then "nudge" \\ left ');
	await page.selectOption('#games', 'weekly');
	await page.click('.step__submit');
	await page.waitForSelector('body[data-view="final"]');
	await t.check('the survey answers are sent exactly as typed', () => {
		const last = posts[posts.length - 1];
		assert.deepEqual(JSON.parse(last.body), {
			difficulty: 'moderate',
			strategy: '  Keep the cart   centred, then "nudge" \\ left ',
			games: 'weekly',
		});
		assert.equal(new URL(last.url).searchParams.get('step'), '4');
	});

	// Final page: the completion code box, no submit button.
	await page.waitForSelector('.code-box');
	l = await layout(page);
	t.ok(l.step === 'Complete', 'the header says "Complete" on the final page', l.step);
	t.ok(await page.locator('.code-box__value').textContent() === userId,
		'the completion code box shows the participant\'s code');
	t.ok(await page.locator('form.step button, form.step input[type="submit"]').filter({ hasText: /next/i }).count() === 0,
		'the final page ("You may exit now") has no submit button');
	await page.click('.code-box__copy');
	await sleep(200);
	await t.check('the copy button copies the code', async () => {
		const clip = await page.evaluate(() => navigator.clipboard.readText());
		assert.equal(clip, userId);
	});
	await t.screenshot(page, 'final');

	// A reload of the final page shows it again (GET never advances).
	await page.reload();
	await page.waitForSelector('.code-box');
	t.ok(await page.locator('.code-box__value').textContent() === userId,
		'a reload of the final page shows the same code');
	t.ok(page.errors.filter((e) => !/WebSocket/.test(e)).length === 0, 'no errors in the browser console',
		page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'journey', e.stack);
}
await t.finish();
