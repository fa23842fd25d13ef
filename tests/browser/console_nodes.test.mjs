// The console's Nodes page in Chromium (docs/console.md): two cluster nodes a
// and b sharing one store, the console of a. The navigation shows "Nodes"
// on a cluster node only; the page lists both nodes (sessions against
// slots, live, lease renewed); "Drain…" asks for a confirmation (cancel
// drains nothing), then drains b: the notice names the audit entry, b's row
// says draining, b's /healthz answers 503, and new games go to a.
import fs from 'node:fs';
import path from 'node:path';
import { Checks, EXAMPLE, tempDir } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const PROJECT = 'cartpole-demo';

const t = new Checks('console_nodes');
try {
	const dir = tempDir('nodes');
	t.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
	const store = `sqlite:${path.join(dir, 'hippo.db')}`;
	const args = (name) => ['--store', store, '--node', name, '--records-local', '--slots', '5',
		'--drain-grace', '0'];
	const a = await startConsole(t, [EXAMPLE], args('a'));
	const b = await startConsole(t, [EXAMPLE], args('b'));
	// one participant at the game step on each node
	for (const u of ['p-1', 'p-2']) {
		await a.next(PROJECT, u);
		await a.next(PROJECT, u, { consent: 'yes' });
	}

	const { page } = await openConsole(t, a, {}, 'Grace');
	await page.waitForSelector('#nav-nodes:not([hidden])');
	t.ok(true, 'a cluster node\'s console shows Nodes in its navigation');
	await page.click('#nav-nodes');
	await page.waitForSelector('#nodes tr[data-node="b"]');
	const row = (n) => `#nodes tr[data-node="${n}"]`;
	t.ok(await page.locator('#nodes tbody tr[data-node]').count() === 2, 'both nodes are listed');
	t.ok((await page.textContent(row('a'))).includes('(this server)'), 'the node answering is marked');
	t.ok((await page.textContent(`${row('b')} td:nth-child(2)`)) === b.url, 'b\'s address');
	await until(async () => (await page.textContent(`${row('a')} td:nth-child(4)`)) === '1 / 5' &&
		(await page.textContent(`${row('b')} td:nth-child(4)`)) === '1 / 5');
	t.ok(true, 'sessions against slots: 1 / 5 on each');
	t.ok(await page.getAttribute(row('b'), 'data-state') === 'live', 'b is live');
	await t.screenshot(page, 'nodes');

	// cancel: nothing happens
	await page.click('[data-drain="b"]');
	await page.waitForSelector('#drain-dialog[open]');
	t.ok((await page.textContent('#drain-title')) === 'Drain node b?', 'the drain asks for a confirmation');
	await t.screenshot(page, 'nodes-confirm');
	await page.click('#drain-cancel');
	await page.waitForSelector('#drain-dialog', { state: 'detached' });
	const listed = async () => (await a.api('nodes')).json.nodes.find((n) => n.name === 'b');
	t.ok(!(await listed()).draining && (await fetch(`${b.url}/healthz`)).status === 200,
		'cancelled: b does not drain');

	await page.click('[data-drain="b"]');
	await page.click('#drain-go');
	await page.waitForSelector('#notice.notice--ok');
	const notice = await page.textContent('#notice');
	t.ok(/^Node b drains: it takes no new sessions \(audit entry [0-9A-Za-z-]+\)\.$/.test(notice),
		'the notice confirms it, with the audit entry', notice);
	await page.waitForSelector(`${row('b')}[data-state="draining"]`);
	t.ok(await page.locator(`${row('b')} [data-drain]`).count() === 0,
		'b is shown draining, without a Drain button');
	await until(async () => (await fetch(`${b.url}/healthz`)).status === 503, 10000);
	t.ok(true, 'b\'s /healthz answers 503 (draining)');
	await b.next(PROJECT, 'p-3');
	await b.next(PROJECT, 'p-3', { consent: 'yes' });
	await until(async () => (await a.api('nodes')).json.nodes.find((n) => n.name === 'a').used === 2);
	t.ok((await listed()).used === 1, 'a new game (asked of b) went to a; b keeps its running one');
	await until(async () => (await page.textContent(`${row('a')} td:nth-child(4)`)) === '2 / 5');
	t.ok(true, 'the page follows (refreshed every 2 s)');
	await t.screenshot(page, 'nodes-drained');
	const audit = (await a.api('audit')).json;
	t.ok(audit[0].action === 'drain' && audit[0].node === 'b' && audit[0].by.name === 'Grace',
		'the drain is in the audit log, with who asked', JSON.stringify(audit[0]));
	await page.click('a[data-nav="audit"]');
	await page.waitForSelector('#audit tr[data-action="drain"]');
	t.ok((await page.textContent('#audit tr[data-action="drain"]')).includes('asked node b to drain'),
		'the audit page shows it');
	t.ok(page.errors.length === 0, 'no script errors', page.errors.join(' | '));

	// a server that is no cluster node: no Nodes in the navigation
	const one = await startConsole(t, [EXAMPLE]);
	const other = await openConsole(t, one);
	await other.page.waitForSelector('#nav:not([hidden])');
	await until(async () => (await one.api('nodes')).json.node === null);
	await other.page.waitForTimeout(500);
	t.ok(await other.page.locator('#nav-nodes').isHidden(), 'one process: no Nodes page in the navigation');
} catch (e) {
	t.ok(false, 'console nodes test', e.stack);
} finally {
	await t.finish();
}
