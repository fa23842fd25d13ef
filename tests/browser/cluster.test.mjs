// Two cluster nodes sharing one participant store (docs/cluster.md), each
// its own origin: the page is served by node b, its game placed on node a.
// Node a is killed (-9) mid-game: the page asks /next where the game is,
// follows the websocket of node b, and the game goes on there until "done";
// then the survey.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Checks, BIN, EXAMPLE, freePort, launch, playUntilDone, sleep, tempDir }
	from './lib.mjs';

const PROJECT = 'cartpole-demo';

// `hippo serve` as cluster node NAME on PORT, advertised at its own origin.
async function startNode(t, name, port, store, dir) {
	const logFile = path.join(t.outDir, `${name}.log`);
	const log = fs.openSync(logFile, 'a');
	const url = `http://127.0.0.1:${port}`;
	const proc = spawn(BIN, ['serve', EXAMPLE, '--host', '127.0.0.1', '--port', String(port),
		'--data', path.join(dir, name), '--store', store, '--node', name, '--advertise', url,
		'--records-local', '--node-renew', '250', '--node-lease', '1500', '--node-poll', '100',
		'--drain-grace', '1'], { stdio: ['ignore', log, log] });
	fs.closeSync(log);
	t.onCleanup(async () => {
		if (proc.exitCode !== null || proc.signalCode !== null)
			return;
		const exited = new Promise((r) => proc.once('exit', r));
		proc.kill('SIGTERM');
		const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
		await exited;
		clearTimeout(timer);
	});
	const end = Date.now() + 60000;
	while (Date.now() < end) {
		try {
			if ((await fetch(`${url}/healthz`)).status === 200)
				return { name, url, port, proc };
		} catch (e) {
			// not listening yet
		}
		await sleep(200);
	}
	throw new Error(`node ${name} did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
}

const t = new Checks('cluster');
try {
	const dir = tempDir('cluster');
	t.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
	const store = `sqlite:${path.join(dir, 'hippo.db')}`;
	// Both free: the game goes to the first by name, a.
	const a = await startNode(t, 'a', await freePort(), store, dir);
	const b = await startNode(t, 'b', await freePort(), store, dir);
	const { page } = await launch(t);

	await page.goto(`${b.url}/?projectId=${PROJECT}`);
	await page.waitForSelector('form.step');
	await page.check('input[name="consent"]');
	await page.click('.step__submit');
	await page.waitForSelector('h1:has-text("Instructions")');
	await page.click('.step__submit');
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	await page.waitForSelector('#conn.conn--ok');
	t.ok(page.sockets.length === 1 && page.sockets[0].url() === `ws://127.0.0.1:${a.port}/ws`,
		'the game runs on node a, named by /next on node b', page.sockets.map((s) => s.url()).join(' '));
	await page.click('[data-control="start"]');
	await page.keyboard.down('ArrowRight');
	await sleep(300);
	await page.keyboard.up('ArrowRight');

	a.proc.kill('SIGKILL');
	const killed = Date.now();
	await t.check('the page sees the loss', () =>
		page.waitForSelector('#conn.conn--lost, #conn.conn--wait', { timeout: 10000 }));
	t.ok(await page.locator('.modal').count() === 0, 'a lost node is not the end of the game');
	await t.check('the page reconnects by itself, to node b', () => page.waitForFunction(
		(port) => document.querySelector('#conn.conn--ok') !== null, b.port, { timeout: 30000 }));
	const last = page.sockets[page.sockets.length - 1];
	t.ok(last.url() === `ws://127.0.0.1:${b.port}/ws`, 'the new websocket is node b\'s', last.url());
	await t.check('frames arrive from node b', () => page.waitForFunction(
		() => document.querySelector('.frame-box__overlay').hidden, null, { timeout: 30000 }));
	console.log(`# ${((Date.now() - killed) / 1000).toFixed(1)} s from the kill to node b's game`);
	await t.screenshot(page, 'moved');
	await t.check('the game goes on until "done" on node b', () => playUntilDone(page));
	await page.click('.modal button');
	await page.waitForSelector('h1:has-text("A few questions")');
	t.ok(true, 'after the game the survey is shown');
	t.ok(page.errors.filter((e) => !/WebSocket|ERR_CONNECTION|Failed to load/.test(e)).length === 0,
		'no errors in the browser console but the lost connection', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'cluster', e.stack);
}
await t.finish();
