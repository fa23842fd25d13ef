// A dropped connection during the game: the page is loaded through a TCP
// proxy that cuts every connection (as a network failure would); the page
// shows a notice, reconnects by itself to the same game session, and the
// game goes on to its end.
import { Checks, startHippo, startProxy, launch, playUntilDone, jsonMessages, sleep } from './lib.mjs';

const PROJECT = 'cartpole-demo';

const t = new Checks('reconnect');
try {
	const hippo = await startHippo(t);
	const proxy = await startProxy(t, hippo.port);
	const { page } = await launch(t);

	await page.goto(`${proxy.url}/?projectId=${PROJECT}`);
	await page.waitForSelector('form.step');
	const userId = new URL(page.url()).searchParams.get('userId');
	await page.check('input[name="consent"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("Instructions")');
	await page.click('.step__submit');
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	await page.waitForSelector('#conn.conn--ok');
	t.ok(page.sockets.length === 1 && page.sockets[0].url().includes(`:${proxy.port}/`),
		'the websocket goes through the proxy', page.sockets.map((s) => s.url()).join(' '));
	await page.click('[data-control="start"]');
	for (let i = 0; i < 4; i++) {
		await page.keyboard.down('ArrowRight');
		await sleep(150);
		await page.keyboard.up('ArrowRight');
	}

	// Cut the connection; the network stays down for 4 s.
	const dropped = proxy.dropAll(4000);
	t.ok(dropped > 0, 'the proxy cut the open connections', dropped);
	await t.check('the connection indicator shows the loss', () =>
		page.waitForSelector('#conn.conn--lost, #conn.conn--wait', { timeout: 10000 }));
	const noticeText = await page.locator('#notice').textContent();
	t.ok(/connection.*lost/i.test(noticeText) && /reconnect/i.test(noticeText),
		'a visible notice says the connection is lost and is being restored', noticeText);
	t.ok(await page.locator('.modal').count() === 0, 'a lost connection is not the end of the game');
	await t.screenshot(page, 'connection-lost');

	// It comes back by itself.
	await t.check('the page reconnects by itself', () =>
		page.waitForSelector('#conn.conn--ok', { timeout: 30000 }));
	t.ok(page.sockets.length >= 2, 'a new websocket was opened', page.sockets.length);
	const hs = jsonMessages(page.wsSent).filter((m) => 'userId' in m && 'projectId' in m);
	t.ok(hs.length >= 2 && hs.every((m) => m.userId === userId),
		'the new handshake names the same participant', JSON.stringify(hs));
	const framesAfter = async () => {
		const ws = page.sockets[page.sockets.length - 1];
		return jsonMessages(page.wsReceived).length > 0 && !ws.isClosed();
	};
	t.ok(await framesAfter(), 'messages arrive on the new connection');
	t.ok(/reconnected/i.test(await page.locator('#notice').textContent()),
		'the notice says the connection is back');
	await t.screenshot(page, 'reconnected');

	await t.check('the game goes on until "done" after the reconnect', () => playUntilDone(page));
	await page.click('.modal button');
	await page.waitForSelector('h1:has-text("A few questions")');
	t.ok(true, 'after the game the survey is shown');
	t.ok(page.errors.filter((e) => !/WebSocket|ERR_CONNECTION|Failed to load/.test(e)).length === 0,
		'no errors in the browser console but the dropped connection', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'reconnect', e.stack);
}
await t.finish();
