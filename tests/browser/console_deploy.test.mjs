// Deploying from the console's Studies page in Chromium: a new study from a
// zip of examples/cartpole (the "New study" form), then a tar.gz whose
// config.yml has an error on the study's own card (the diagnostics listed
// as text with file:line:col, nothing deployed), then a good tar.gz (version
// 2 served); a file chosen in a card's form survives the page's refresh; the
// preview link opens the study.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks, EXAMPLE, sleep, tempDir } from './lib.mjs';
import { openConsole, startConsole, until } from './console_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STUDY = path.join(here, '../integration/projects/serve_groups');
const P = 'cartpole-demo';

const t = new Checks('console_deploy');
try {
	const hippo = await startConsole(t, [STUDY]);
	// the archives: a zip of the folder, a tar.gz with an error, a good tar.gz
	const dir = tempDir('archives');
	t.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
	const zip = path.join(dir, 'cartpole.zip');
	execFileSync('python3', ['-c', `
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for root, _, names in os.walk(src):
        for n in names:
            p = os.path.join(root, n)
            z.write(p, os.path.join('cartpole', os.path.relpath(p, src)))
`, EXAMPLE, zip]);
	const bad = path.join(dir, 'bad');
	fs.cpSync(EXAMPLE, bad, { recursive: true });
	const cfg = fs.readFileSync(path.join(bad, 'config.yml'), 'utf8');
	fs.writeFileSync(path.join(bad, 'config.yml'),
		cfg.replace('maxEpisodes: 3', 'maxEpisodes: <img src=x onerror=alert(1)>'));
	const badLine = cfg.split('\n').findIndex((l) => l.includes('maxEpisodes')) + 1;
	execFileSync('tar', ['-czf', path.join(dir, 'bad.tar.gz'), '-C', bad, '.']);
	const good = path.join(dir, 'good');
	fs.cpSync(EXAMPLE, good, { recursive: true });
	fs.writeFileSync(path.join(good, 'StepFiles', 'consent.html'),
		'<p>Consent, second version</p><input type="checkbox" name="consent" required>');
	execFileSync('tar', ['-czf', path.join(dir, 'good.tar.gz'), '-C', dir, 'good']);

	const { page } = await openConsole(t, hippo);
	const dialogs = [];
	page.on('dialog', (d) => {
		dialogs.push(d.message());
		d.dismiss();
	});
	await page.waitForSelector('[data-study="serve-groups"]');

	// a new study from a zip
	await page.fill('#deploy-id', P);
	await page.setInputFiles('#deploy-file-new', zip);
	await page.click('#new-study button[type=submit]');
	await page.waitForSelector('#new-study .verdict--ok');
	t.ok((await page.textContent('#new-study .deploy__result')).includes(`Deployed ${P}: version 1.`),
		'a zip of examples/cartpole deployed from the New study form: version 1');
	await page.waitForSelector(`[data-study="${P}"]`, { timeout: 15000 });
	t.ok(true, 'its card appears on the Studies page');
	const served = await hippo.next(P, 'u1');
	t.ok(served.status === 200 && served.json.step === 1, 'the new study is served');
	await t.screenshot(page, 'deployed-zip');

	// a tar.gz with an error: the diagnostics, as text
	const card = `[data-study="${P}"]`;
	await page.setInputFiles(`#deploy-file-${P}`, path.join(dir, 'bad.tar.gz'));
	await page.click(`${card} .deploy button[type=submit]`);
	await page.waitForSelector(`${card} .verdict--bad .diags li`);
	const items = await page.$$eval(`${card} .diags li`, (lis) => lis.map((li) => ({
		text: li.textContent, children: li.children.length })));
	await t.check('an error in config.yml: the diagnostics with config.yml:LINE:COL, as text', () => {
		const hit = items.find((i) => i.text.includes(`config.yml:${badLine}:`) &&
			i.text.includes('trial.maxEpisodes'));
		assert.ok(hit, JSON.stringify(items));
		assert.ok(items.every((i) => i.children === 0), 'no markup in the list');
	});
	t.ok(await page.$(`${card} .diags img`) === null && dialogs.length === 0,
		'markup from the archive is shown as text and runs nothing');
	t.ok((await hippo.api('projects')).json.find((p) => p.id === P).version === 1,
		'nothing deployed: still version 1');
	await t.screenshot(page, 'diagnostics');

	// a chosen file stays across the 5 s refresh
	await page.setInputFiles(`#deploy-file-${P}`, path.join(dir, 'good.tar.gz'));
	await sleep(6000);
	t.ok(await page.$eval(`#deploy-file-${P}`, (i) => i.files.length) === 1,
		'a file chosen in a card keeps chosen across the refresh');
	await page.click(`${card} .deploy button[type=submit]`);
	await page.waitForSelector(`${card} .verdict--ok`);
	t.ok((await page.textContent(`${card} .deploy__result`)).includes('version 2'),
		'a tar.gz deployed from the study\'s card: version 2');
	const v2 = await hippo.next(P, 'u2');
	t.ok(v2.json.page.includes('Consent, second version'), 'the new version is served');
	await until(async () => (await page.textContent(`${card} .study__head p`)).includes('version 2'));
	t.ok(true, 'the card shows version 2');
	await t.screenshot(page, 'deployed-tar');

	// a file that is no archive is refused in the page, before any upload
	fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
	await page.setInputFiles(`#deploy-file-${P}`, path.join(dir, 'notes.txt'));
	await page.click(`${card} .deploy button[type=submit]`);
	await page.waitForSelector(`${card} .verdict--bad`);
	t.ok((await page.textContent(`${card} .deploy__result`)).includes('.zip, .tar, .tar.gz or .tgz'),
		'a file of another kind is refused with the kinds accepted');
} catch (e) {
	t.ok(false, 'console deploy', e.stack);
} finally {
	await t.finish();
}
