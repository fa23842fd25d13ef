// The link parameters around the step pages: `server` (connect straight to
// a websocket, no step pages) with `redirect` at the end, `frames=json`
// (base64 JSON frames, as the original server sends, instead of binary
// ones), and the error pages for a missing or unknown study.
import assert from 'node:assert/strict';
import { Checks, startHippo, launch, layout, playUntilDone, jsonMessages } from './lib.mjs';

const PROJECT = 'cartpole-demo';

const t = new Checks('direct');
try {
	const hippo = await startHippo(t);
	const { page } = await launch(t);

	// Error pages.
	await page.goto(`${hippo.url}/`);
	await page.waitForSelector('body[data-view="error"]');
	t.ok(/No study selected/.test(await page.locator('#app').textContent()),
		'a link without projectId explains that no study is selected');
	await t.screenshot(page, 'no-project');
	await page.goto(`${hippo.url}/?projectId=no-such-study`);
	await page.waitForSelector('body[data-view="error"]');
	t.ok(/not available/.test(await page.locator('#app').textContent()),
		'an unknown projectId says the study is not available');
	t.ok((await layout(page)).styled, 'the error page is styled');
	await t.screenshot(page, 'unknown-project');

	// The session is allocated by the flow (events.startServerStep: 2).
	await page.goto(`${hippo.url}/?projectId=${PROJECT}`);
	await page.waitForSelector('form.step');
	const userId = new URL(page.url()).searchParams.get('userId');
	await page.check('input[name="consent"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("Instructions")');

	// Then the `server` link: straight to the game.
	const ws = `ws://127.0.0.1:${hippo.port}/ws`;
	const redirect = `${hippo.url}/favicon.svg?from=direct`;
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&userId=${userId}` +
		`&server=${encodeURIComponent(ws)}&redirect=${encodeURIComponent(redirect)}&frames=json`);
	await page.waitForSelector('body[data-view="game"]');
	t.ok(page.sockets.some((s) => s.url() === ws), 'the page connects to the `server` URL');
	t.ok((await layout(page)).step === '', 'no step indicator without step pages');
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	await t.check('frames=json: the handshake asks for no binary frames, base64 JSON frames are shown', async () => {
		const hs = jsonMessages(page.wsSent)[0];
		assert.equal(hs.userId, userId);
		assert.ok(!('accept' in hs), JSON.stringify(hs));
		assert.ok(!page.wsReceived.some((m) => m.startsWith('<binary')), 'binary frames received');
		const ids = jsonMessages(page.wsReceived).filter((m) => typeof m.frame === 'string')
			.map((m) => m.frameId);
		assert.ok(ids.length > 0, 'no JSON frames');
		const shown = await page.$eval('#frame', (c) => Number(c.dataset.frameId));
		assert.ok(ids.includes(shown), `frame ${shown} on screen, received ${ids.join(',')}`);
	});
	await t.check('the game is played until "done"', () => playUntilDone(page));
	await page.click('.modal button');
	await page.waitForSelector('body[data-view="final"]');
	t.ok(/Thank you/.test(await page.locator('#app').textContent()), 'a thank-you page follows the game');
	await t.screenshot(page, 'direct-thanks');
	await t.check('the redirect parameter takes the participant there', () =>
		page.waitForURL(redirect, { timeout: 20000 }));

	// Back on the study link: the participant left on the instructions; the
	// game is over, so the step after it comes next.
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&userId=${userId}`);
	await page.waitForSelector('h1:has-text("Instructions")');
	await page.click('.step__submit');
	await t.check('back on the study link, the game played through `server` is not played again',
		() => page.waitForSelector('h1:has-text("A few questions")'));
	t.ok(page.errors.filter((e) => !/WebSocket|404|400/.test(e)).length === 0,
		'no errors in the browser console', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'direct', e.stack);
}
await t.finish();
