// The example study on a phone-sized touch screen (390x844) with the debug
// message viewer (?debug=true): nothing wider than the screen, the frame
// scaled down without distortion, the controls usable by touch, and the
// viewer listing the messages to and from both servers.
import assert from 'node:assert/strict';
import { Checks, startHippo, launch, layout, playUntilDone, jsonMessages, sleep } from './lib.mjs';

const PROJECT = 'cartpole-demo';
const W = 390;
const H = 844;

const t = new Checks('phone');
try {
	const hippo = await startHippo(t);
	const { page } = await launch(t, { viewport: { width: W, height: H }, isMobile: true,
		hasTouch: true, deviceScaleFactor: 1 });

	await page.goto(`${hippo.url}/?projectId=${PROJECT}&debug=true`);
	await page.waitForSelector('form.step');
	let l = await layout(page);
	t.ok(l.styled, 'the stylesheet is applied');
	t.ok(l.overflowX <= 0, 'consent: nothing wider than the phone screen', l.overflowX);
	const btn = await page.locator('.step__submit').boundingBox();
	t.ok(btn && btn.height >= 44 && btn.width > W / 2, 'the Next button is a large touch target',
		JSON.stringify(btn));
	t.ok(await page.locator('#debug').isVisible(), 'debug=true shows the message viewer');
	await t.check('the viewer lists the GET /next request and its answer', async () => {
		await page.waitForSelector('#debug-list [data-dir="in"][data-channel*="/next"]');
		assert.ok(await page.locator('#debug-list [data-dir="out"][data-channel="GET /next"]').count() >= 1);
	});
	await t.screenshot(page, 'consent');

	await page.locator('input[name="consent"]').tap();
	await page.locator('.step__submit').tap();
	await page.waitForSelector('h1:has-text("Instructions")');
	await t.check('the viewer lists the POST with the answers', async () => {
		const rows = await page.$$eval('#debug-list [data-channel="POST /next"] .debug__msg',
			(es) => es.map((e) => e.textContent));
		assert.ok(rows.some((r) => r.includes('"consent":"yes"')), rows.join(' | '));
	});
	l = await layout(page);
	t.ok(l.overflowX <= 0, 'instructions: nothing wider than the screen', l.overflowX);
	await t.screenshot(page, 'instructions');
	await page.locator('.step__submit').tap();

	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	await sleep(500);
	l = await layout(page);
	t.ok(l.overflowX <= 0, 'game: nothing wider than the screen', l.overflowX);
	t.ok(l.frame.w <= W && l.frame.w >= W * 0.8, 'the frame uses the screen width', JSON.stringify(l.frame));
	await t.check('the frame keeps its aspect ratio', () => {
		const want = l.canvas.w / l.canvas.h;
		const got = l.frame.w / l.frame.h;
		assert.ok(Math.abs(got - want) / want < 0.02, `shown ${got.toFixed(3)}, frame ${want.toFixed(3)}`);
	});
	const left = page.locator('[data-control="left"]');
	const lb = await left.boundingBox();
	t.ok(lb && lb.y + lb.height <= H + 400 && lb.height >= 44, 'the Left button is a large touch target',
		JSON.stringify(lb));
	await t.check('the viewer lists websocket messages both ways, frames shortened', async () => {
		await page.waitForSelector('#debug-list [data-channel="ws"][data-dir="in"]');
		await page.waitForSelector('#debug-list [data-channel="ws"][data-dir="out"]');
		const texts = await page.$$eval('#debug-list [data-channel="ws"][data-dir="in"] .debug__msg',
			(es) => es.map((e) => e.textContent));
		assert.ok(texts.some((x) => /"frame":"<base64 \d+ chars>"|<binary \d+ bytes>/.test(x)),
			texts.slice(-3).join(' | '));
	});
	await t.screenshot(page, 'game');

	// Touch: pressing Left sends the action, lifting the finger sends noop.
	await page.locator('[data-control="start"]').tap();
	const nsent = page.wsSent.length;
	const box = await left.boundingBox();
	const cdp = await page.context().newCDPSession(page);
	const pt = [{ x: box.x + box.width / 2, y: box.y + box.height / 2 }];
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: pt });
	await sleep(300);
	await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
	await sleep(300);
	await t.check('holding the Left button sends left, lifting the finger sends noop', () => {
		const acts = jsonMessages(page.wsSent.slice(nsent)).filter((m) => 'action' in m);
		assert.deepEqual(acts.map((m) => [m.actionType, m.action]), [['mousedown', 'left'], ['mouseup', 'noop']]);
	});

	await t.check('the game is played until "done"', () => playUntilDone(page));
	await t.screenshot(page, 'game-done');
	await page.locator('.modal button').tap();
	await page.waitForSelector('h1:has-text("A few questions")');
	l = await layout(page);
	t.ok(l.overflowX <= 0, 'survey: nothing wider than the screen', l.overflowX);
	await t.screenshot(page, 'survey');
	await page.locator('input[name="difficulty"][value="hard"]').tap();
	await page.fill('#strategy', 'thumbs');
	await page.selectOption('#games', 'daily');
	await page.locator('.step__submit').tap();
	await page.waitForSelector('.code-box');
	l = await layout(page);
	t.ok(l.overflowX <= 0, 'final page: nothing wider than the screen', l.overflowX);
	const code = await page.locator('.code-box').boundingBox();
	t.ok(code && code.x >= 0 && code.x + code.width <= W, 'the code box fits the screen', JSON.stringify(code));
	await t.screenshot(page, 'final');

	// The viewer can be collapsed.
	await page.locator('#debug .debug__bar button', { hasText: 'Hide' }).tap();
	t.ok(!(await page.locator('#debug-list').isVisible()), 'the message viewer can be collapsed');
	t.ok(page.errors.filter((e) => !/WebSocket/.test(e)).length === 0, 'no errors in the browser console',
		page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'phone', e.stack);
}
await t.finish();
