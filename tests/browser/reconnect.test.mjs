// A dropped connection during the game: the page is loaded through a TCP
// proxy that cuts every connection (as a network failure would); the page
// shows a notice, reconnects by itself to the same game session, and the
// game goes on to its end. A second tab of the same participant takes the
// game over; the first one says so and takes it back only when asked.
import { Checks, startHippo, startProxy, launch, playUntilDone, jsonMessages, sleep, watchPage }
	from './lib.mjs';

const PROJECT = 'cartpole-demo';

const t = new Checks('reconnect');
try {
	const hippo = await startHippo(t);
	const proxy = await startProxy(t, hippo.port);
	const { context, page } = await launch(t);

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
	// The same participant opens the game in a second tab (while it is not
	// running): it takes over, the first tab says so and does not fight
	// back, until asked to.
	const second = await context.newPage();
	watchPage(second);
	await second.goto(page.url());
	await second.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await second.waitForSelector('#conn.conn--ok');
	await t.check('the first tab says the game is open elsewhere', () =>
		page.waitForSelector('#play-here', { timeout: 15000 }));
	const socketsNow = page.sockets.length;
	await sleep(3000);
	t.ok(page.sockets.length === socketsNow, 'the first tab does not reconnect by itself',
		`${socketsNow} -> ${page.sockets.length}`);
	await t.screenshot(page, 'open-elsewhere');
	await page.bringToFront();
	await page.click('#play-here');
	await t.check('"Play here instead" takes the game back', () =>
		page.waitForSelector('#conn.conn--ok', { timeout: 30000 }));
	await t.check('the second tab then says the game is open elsewhere', () =>
		second.waitForSelector('#play-here', { timeout: 15000 }));
	await second.close();

	// Play a moment (CartPole episodes are short: the drop comes at once).
	await page.click('[data-control="start"]');
	await page.keyboard.down('ArrowRight');
	await sleep(100);
	await page.keyboard.up('ArrowRight');

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
	const last = page.sockets[page.sockets.length - 1];
	t.ok(last.received.length > 0, 'messages arrive on the new connection', last.received.length);
	t.ok(jsonMessages(last.sent).some((m) => m.command === 'start' && m.resumed === true),
		'the running game is resumed on the new connection');
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
