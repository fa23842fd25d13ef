// Deploying a new version of a study from the console's Studies page in
// Chromium (docs/console.md): the study folder as a tar.gz archive is
// uploaded with the token header and becomes version 2 (the card says so);
// an archive whose config.yml has an error is refused and hippo check's
// file:line:col diagnostics are shown as text (a value that looks like HTML
// stays text).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Checks, EXAMPLE, tempDir } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const P = 'cartpole-demo';

function archive(dir, name, edit) {
	const study = path.join(dir, `${name}-study`);
	fs.cpSync(EXAMPLE, study, { recursive: true });
	if (edit) {
		const cfg = path.join(study, 'config.yml');
		fs.writeFileSync(cfg, edit(fs.readFileSync(cfg, 'utf8')));
	}
	const out = path.join(dir, `${name}.tar.gz`);
	execFileSync('tar', ['-czf', out, '-C', dir, path.basename(study)]);
	return out;
}

const t = new Checks('console_deploy');
try {
	const dir = tempDir('deploy');
	t.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
	const good = archive(dir, 'good', (s) => s.replace(/name: .*/, 'name: CartPole, second version'));
	const bad = archive(dir, 'bad', (s) => s.replace(/maxEpisodes: .*/, 'maxEpisodes: <b>lots</b>'));
	const hippo = await startConsole(t, [EXAMPLE]);
	const { page } = await openConsole(t, hippo);
	await page.goto(`${hippo.url}/admin#/studies`);
	await page.waitForSelector(`[data-study="${P}"]`);
	await page.click(`[data-deploy="${P}"]`);
	t.ok(await page.inputValue('#deploy-id') === P, 'the study\'s button fills in its id');
	await page.setInputFiles('#deploy-file', good);
	await page.click('#deploy-go');
	await page.waitForSelector('#deploy-result [data-deployed]');
	t.ok(await page.getAttribute('#deploy-result [data-deployed]', 'data-deployed') === '2',
		'the archive is deployed as version 2', await page.textContent('#deploy-result'));
	await until(async () => (await page.textContent(`[data-study="${P}"]`)).includes('version 2'));
	t.ok((await page.textContent(`[data-study="${P}"] h2`)) === 'CartPole, second version',
		'the card shows the new version and its name');
	await t.screenshot(page, 'deployed');

	await page.setInputFiles('#deploy-file', bad);
	await page.click('#deploy-go');
	await page.waitForSelector('#deploy-diagnostics li');
	const diag = await page.textContent('#deploy-diagnostics li');
	t.ok(/config\.yml:\d+:\d+/.test(diag) && diag.includes('<b>lots</b>'),
		'a bad config.yml: hippo check\'s file:line:col diagnostics, shown as text', diag);
	t.ok(await page.locator('#deploy-diagnostics b').count() === 0, 'nothing of it is HTML');
	t.ok((await page.textContent(`[data-study="${P}"]`)).includes('version 2'), 'the version stays');
	await t.screenshot(page, 'refused');
	const errors = page.errors.filter((e) => !/status of 400/.test(e));
	t.ok(errors.length === 0, 'no script errors (beyond the refusal provoked)', errors.join(' | '));
} catch (e) {
	t.ok(false, 'console deploy test', e.stack);
} finally {
	await t.finish();
}
