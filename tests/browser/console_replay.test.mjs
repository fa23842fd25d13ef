// Replaying a recorded episode in Chromium: a participant plays CartPole in
// the participant UI; the console replays their first episode, says the
// re-simulation matches the record bit for bit, plays and seeks it, and its
// last frame is exactly what `hippo render` draws from the recorded seed and
// actions; a record altered afterwards is reported as not matching. An
// external environment's episode (trial.recordFrames) is replayed with the
// frames the participant was sent.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, Checks, launch, playUntilDone, sleep, tempDir } from './lib.mjs';
import { TOKEN, openConsole, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/console_replay');
const P = 'console-replay';
const U = 'replayer-1';

const EXT_P = 'console-replay-ext';

// A study whose game is the pure-Python CartPole as an external process,
// keeping the frames sent (trial.recordFrames).
function externalStudy() {
	const d = path.join(tempDir('replay-ext'), EXT_P);
	fs.mkdirSync(path.join(d, 'StepFiles'), { recursive: true });
	fs.writeFileSync(path.join(d, 'StepFiles', 'thanks.html'), '<p>Thanks.</p>\n');
	const env = path.join(here, '../../clients/python/examples/pure_env.py');
	fs.writeFileSync(path.join(d, 'config.yml'), `project:
  id: ${EXT_P}
  name: external replay
  researcher: hippo tests
  events: {startServerStep: 1, stopServerStep: 2}
  steps:
    1: game
    finalStep: thanks.html
trial:
  game: PureCartPole-v0
  maxEpisodes: 1
  actionSpace: [left, right]
  recordFrames: true
  env:
    command: [/usr/bin/python3, ${env}]
`);
	return d;
}

const t = new Checks('console_replay');
try {
	const ext = externalStudy();
	t.onCleanup(() => fs.rmSync(path.dirname(ext), { recursive: true, force: true }));
	const hippo = await startConsole(t, [STUDY, ext]);
	const player = await launch(t);
	await player.page.goto(`${hippo.url}/?projectId=${P}&userId=${U}`);
	await playUntilDone(player.page);
	t.ok(true, 'the participant played both episodes');

	const dir = path.join(hippo.data, P, 'trials', U);
	// the seed as written (a 64-bit integer: JSON.parse would round it)
	const seed = fs.readFileSync(path.join(dir, 'trials.jsonl'), 'utf8').match(/"seed":(\d+)/)[1];
	const person = await until(async () => {
		const r = await hippo.api(`projects/${P}/participants/${U}`);
		return r.json && r.json.episodes.length === 2 ? r.json : null;
	});
	const trial = person.episodes[0].trialId;
	const ep1file = path.join(dir, person.episodes[0].file);
	const lines = fs.readFileSync(ep1file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
		.filter((l) => l.trialId === trial && l.episode === 1 && !l.end);
	const last = lines[lines.length - 1].step;

	const { page } = await openConsole(t, hippo);
	await page.waitForSelector('#nav');
	await page.goto(`${hippo.url}/admin#/participant/${P}/${U}`);
	await page.waitForSelector('#episodes tr[data-episode="1"]');
	await page.click('#episodes tr[data-episode="1"] a:has-text("Replay")');
	await page.waitForSelector('#replay-verdict');
	t.ok(await page.getAttribute('#replay-verdict', 'data-match') === 'yes',
		'the re-simulation matches the record bit for bit', await page.textContent('#replay-verdict'));
	await until(async () => await page.getAttribute('#replay-frame', 'data-step') === '0');
	await page.selectOption('#replay-speed', '4');
	await page.click('#replay-play');
	await until(async () => Number(await page.getAttribute('#replay-frame', 'data-step')) >= Math.min(5, last));
	t.ok(true, 'Play advances the frames');
	await page.click('#replay-play');
	await page.$eval('#replay-seek', (el, v) => {
		el.value = v;
		el.dispatchEvent(new Event('input'));
	}, String(last));
	await until(async () => Number(await page.getAttribute('#replay-frame', 'data-step')) === last);
	t.ok((await page.textContent('#replay-step')) === `step ${last} / ${last}`, 'seeking to the last step');
	const ret = lines.reduce((a, l) => a + (l.reward || 0), 0);
	t.ok(Number(await page.textContent('#replay-detail [data-k="return"]')) === ret,
		'the return so far at the last step is the episode\'s');
	await t.screenshot(page, 'replay');

	// the last frame against hippo render of the recorded seed and actions
	const r = await fetch(`${hippo.url}/api/projects/${P}/participants/${U}/replay/frame.png?trial=${trial}&episode=1&step=${last}`,
		{ headers: { Authorization: `Bearer ${TOKEN}` } });
	const ours = Buffer.from(await r.arrayBuffer());
	const tmp = tempDir('render');
	t.onCleanup(() => fs.rmSync(tmp, { recursive: true, force: true }));
	fs.writeFileSync(path.join(tmp, 'actions.txt'), lines.filter((l) => !l.reset).map((l) => l.action).join('\n') + '\n');
	execFileSync(BIN, ['render', 'CartPole-v1', '--seed', seed, '--actions', path.join(tmp, 'actions.txt'),
		'--out', path.join(tmp, 'last.png')]);
	const theirs = fs.readFileSync(path.join(tmp, 'last.png'));
	t.ok(r.status === 200 && ours.length > 100 && ours.equals(theirs),
		'the last replayed frame equals hippo render of the recorded state (PNG, byte for byte)');

	// an altered record is reported
	const altered = lines.map((l) => (l.step === 2 ? { ...l, observation: l.observation.map((v, i) => (i ? v : v + 0.001)) } : l));
	const others = fs.readFileSync(ep1file, 'utf8').split('\n').filter(Boolean)
		.filter((l) => { const j = JSON.parse(l); return !(j.trialId === trial && j.episode === 1 && !j.end); });
	fs.writeFileSync(ep1file, [...altered.map((l) => JSON.stringify(l)), ...others].join('\n') + '\n');
	await page.reload();
	await page.waitForSelector('#replay-verdict');
	t.ok(await page.getAttribute('#replay-verdict', 'data-match') === 'no' &&
		(await page.textContent('#replay-verdict')).includes('step 2'),
	'an altered record is reported as not matching, at its step', await page.textContent('#replay-verdict'));
	await t.screenshot(page, 'replay-mismatch');

	// an external environment's episode, with the frames the participant was sent
	await player.page.goto(`${hippo.url}/?projectId=${EXT_P}&userId=ext-1`);
	await playUntilDone(player.page);
	const extPerson = await until(async () => {
		const r = await hippo.api(`projects/${EXT_P}/participants/ext-1`);
		return r.json && r.json.episodes.length === 1 ? r.json : null;
	});
	await page.goto(`${hippo.url}/admin#/replay/${EXT_P}/ext-1/${extPerson.episodes[0].trialId}/1`);
	await page.waitForSelector('#replay-verdict');
	t.ok(await page.getAttribute('#replay-verdict', 'data-frames') === 'recorded',
		'an external environment: the recorded frames are shown', await page.textContent('#replay-verdict'));
	await until(async () => await page.getAttribute('#replay-frame', 'data-step') === '0');
	await page.click('#replay-play');
	await until(async () => Number(await page.getAttribute('#replay-frame', 'data-step')) >= 3);
	await page.click('#replay-play');
	t.ok(true, 'its recorded frames play');
	await t.screenshot(page, 'replay-external');
	await page.setViewportSize({ width: 768, height: 1024 });
	await sleep(300);
	t.ok(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 0,
		'tablet width: the replay page has no horizontal scrolling');
	t.ok(page.errors.length === 0, 'no script errors', page.errors.join(' | '));
} catch (e) {
	t.ok(false, 'console replay test', e.stack);
} finally {
	await t.finish();
}
