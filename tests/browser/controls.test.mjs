// Every control of the game page (fixture study tests/browser/fixtures/
// controls: FrozenLake with the whole UI list, frame-rate changes and a
// feedback budget): the panel shows exactly the server's list, each key of
// the key map sends its action, typing in a field sends none, buttons send
// their commands, feedback fills the budget bar, pointer events over the
// frame are reported, buttons are named by their words (icons hidden from
// assistive technology), and Stop ends the game.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, startHippo, launch, layout, jsonMessages, sleep } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, 'fixtures/controls');
const PROJECT = 'controls-test';
const KEYS = {
	ArrowUp: 'up', KeyW: 'up', ArrowDown: 'down', KeyS: 'down', ArrowLeft: 'left', KeyA: 'left',
	ArrowRight: 'right', KeyD: 'right', KeyQ: 'leftUp', KeyE: 'rightUp', KeyZ: 'leftDown',
	KeyC: 'rightDown', Space: 'fire',
};

const t = new Checks('controls');
try {
	const hippo = await startHippo(t, [STUDY]);
	const { page } = await launch(t);
	// JSON frames: the budget travels with them (see docs/participant-ui.md).
	await page.goto(`${hippo.url}/?projectId=${PROJECT}&userId=controls-1&frames=json`);
	await page.waitForSelector('body[data-view="game"]', { timeout: 60000 });
	await page.waitForFunction(() => document.querySelector('.frame-box__overlay').hidden, null,
		{ timeout: 60000 });
	const sentSince = (n) => jsonMessages(page.wsSent.slice(n));
	const actionsSince = (n) => sentSince(n).filter((m) => 'action' in m).map((m) => m.action);

	const ui = jsonMessages(page.wsReceived).find((m) => Array.isArray(m.UI)).UI;
	const shown = await page.$$eval('#controls [data-control]', (es) => es.map((e) => e.dataset.control));
	await t.check('the panel shows exactly the controls of the server\'s UI list', () => {
		assert.deepEqual([...shown].sort(), [...ui].sort());
		assert.equal(ui.length, 18);
	});
	// Assistive technology reads a button's name: the word, not the icon
	// glyph in front of it ("Start", not "▶ Start").
	const NAMES = { start: 'Start', pause: 'Pause', stop: 'Stop', reset: 'Reset', good: 'Good',
		bad: 'Bad', fpsUp: 'Faster', fpsDown: 'Slower', up: 'Up', down: 'Down', left: 'Left',
		right: 'Right', leftUp: 'Up left', rightUp: 'Up right', leftDown: 'Down left',
		rightDown: 'Down right', fire: 'Fire' };
	await t.check('each control button is named by its word alone, the icon hidden', async () => {
		for (const [control, name] of Object.entries(NAMES)) {
			const b = page.getByRole('button', { name, exact: true });
			assert.equal(await b.count(), 1, `no single button named "${name}"`);
			assert.equal(await b.getAttribute('data-control'), control);
		}
	});
	const pad = await page.$$eval('.dpad > *', (es) => es.length);
	t.ok(pad === 9, 'the direction pad is a full 3x3 grid with diagonals and fire', pad);
	const l = await layout(page);
	await t.check('the 4x4 lake frame keeps its square aspect ratio', () => {
		const want = l.canvas.w / l.canvas.h;
		assert.ok(Math.abs(l.frame.w / l.frame.h - want) / want < 0.02, JSON.stringify(l));
	});
	await t.screenshot(page, 'all-controls');

	await page.click('[data-control="start"]');
	await sleep(300);
	await t.check('JSON frames: the display panel shows the episode out of 50', () =>
		page.waitForFunction(() => /^\d+ \/ 50$/.test(
			document.querySelector('#display [data-key="episode"] dd')?.textContent ?? ''),
		null, { timeout: 15000 }));

	// Each mapped key: its action on press, noop on release.
	for (const [code, action] of Object.entries(KEYS)) {
		const n = page.wsSent.length;
		await page.keyboard.down(code);
		await sleep(60);
		await page.keyboard.up(code);
		await sleep(120);
		const acts = actionsSince(n);
		t.ok(acts.length === 2 && acts[0] === action && acts[1] === 'noop',
			`${code} sends ${action}, then noop on release`, acts.join(','));
	}
	await t.check('key presses carry the raw key event', () => {
		const m = jsonMessages(page.wsSent).find((x) => x.action === 'leftUp');
		assert.deepEqual(m.KeyboardEvent, { KEYDOWN: ['q', 'KeyQ'] });
	});

	// Two keys held: releasing one goes back to the other.
	let n = page.wsSent.length;
	await page.keyboard.down('ArrowLeft');
	await page.keyboard.down('ArrowUp');
	await page.keyboard.up('ArrowUp');
	await page.keyboard.up('ArrowLeft');
	await sleep(150);
	await t.check('with two keys held, releasing one returns to the other', () => {
		assert.deepEqual(actionsSince(n), ['left', 'up', 'left', 'noop']);
	});

	// Typing in the frame-rate field sends no action.
	n = page.wsSent.length;
	await page.click('#fps-set');
	await page.keyboard.press('ArrowUp');
	await page.keyboard.press('Control+A');
	await page.keyboard.type('12 wasd');
	await page.keyboard.press('Space');
	await sleep(200);
	t.ok(actionsSince(n).length === 0, 'typing in a text field sends no actions', actionsSince(n).join(','));
	await page.fill('#fps-set', '12');
	await page.click('.fps-set button');
	await page.click('[data-control="fpsUp"]');
	await page.click('[data-control="fpsDown"]');
	await sleep(200);
	await t.check('Set, Faster and Slower send changeFrameRate "12", "faster", "slower"', () => {
		assert.deepEqual(sentSince(n).filter((m) => 'changeFrameRate' in m).map((m) => m.changeFrameRate),
			['12', 'faster', 'slower']);
	});

	// Buttons held with the mouse.
	n = page.wsSent.length;
	const down = await page.locator('[data-control="down"]').boundingBox();
	await page.mouse.move(down.x + down.width / 2, down.y + down.height / 2);
	await page.mouse.down();
	await sleep(200);
	await page.mouse.up();
	await sleep(150);
	await t.check('holding the Down button sends mousedown down, releasing it mouseup noop', () => {
		const acts = sentSince(n).filter((m) => 'action' in m).map((m) => [m.actionType, m.action]);
		assert.deepEqual(acts, [['mousedown', 'down'], ['mouseup', 'noop']]);
	});
	n = page.wsSent.length;
	await page.focus('[data-control="rightUp"]');
	await page.keyboard.press('Enter');
	await sleep(400);
	t.ok(actionsSince(n).join(',') === 'rightUp,noop', 'a pad button works from the keyboard (Enter)',
		actionsSince(n).join(','));

	// Feedback and the budget bar.
	n = page.wsSent.length;
	await page.click('[data-control="good"]');
	await page.click('[data-control="bad"]');
	await t.check('Good and Bad send feedback', async () => {
		await sleep(150);
		assert.deepEqual(sentSince(n).filter((m) => 'feedback' in m).map((m) => m.feedback), ['good', 'bad']);
	});
	await t.check('the budget bar shows the feedback left', () =>
		page.waitForFunction(() => document.querySelector('.budget__text')?.textContent === '3 of 5 left',
			null, { timeout: 15000 }));
	await t.check('the budget bar is visible and 60 % full', async () => {
		assert.ok(await page.locator('#budget').isVisible());
		const w = await page.$eval('.budget__fill', (e) => e.style.width);
		assert.equal(w, '60%');
	});

	// Pointer events over the frame.
	n = page.wsSent.length;
	const f = await page.locator('#frame').boundingBox();
	await page.mouse.move(f.x + f.width / 4, f.y + f.height / 4);
	await page.mouse.down();
	await sleep(80);
	await page.mouse.move(f.x + f.width / 2, f.y + f.height / 2, { steps: 3 });
	await sleep(80);
	await page.mouse.up();
	await sleep(150);
	await t.check('presses and drags over the frame are reported in frame pixels', () => {
		const info = sentSince(n).filter((m) => 'info' in m);
		assert.equal(info[0].info, 'mouse down');
		assert.equal(info[info.length - 1].info, 'mouse up');
		const canvas = l.canvas;
		assert.ok(Math.abs(info[0].pos.x - canvas.w / 4) <= 3 && Math.abs(info[0].pos.y - canvas.h / 4) <= 3,
			JSON.stringify(info[0].pos));
	});
	await t.screenshot(page, 'playing');

	const errors = jsonMessages(page.wsReceived).filter((m) => 'error' in m);
	t.ok(errors.length === 0, 'the trial server accepted every message', JSON.stringify(errors));

	// Stop ends the game.
	await page.click('[data-control="stop"]');
	await t.check('Stop ends the game with the end-of-game modal', () =>
		page.waitForSelector('.modal', { timeout: 30000 }));
	await page.click('.modal button');
	await page.waitForSelector('.code-box');
	t.ok(await page.locator('.code-box__value').textContent() === 'controls-1', 'the final page follows');
	t.ok(page.errors.length === 0, 'no errors in the browser console', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'controls', e.stack);
}
await t.finish();
