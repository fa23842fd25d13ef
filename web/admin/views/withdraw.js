// The withdrawal button and its confirmation dialog.
import { api, adminName } from '../api.js';
import { h } from '../dom.js';
import { showNotice } from '../app.js';

export function withdrawButton(project, user, done) {
	const btn = h('button', { type: 'button', class: 'btn btn--danger', id: 'withdraw' }, 'Withdraw and delete…');
	btn.addEventListener('click', () => {
		const input = h('input', { id: 'withdraw-confirm', autocomplete: 'off', spellcheck: 'false' });
		const go = h('button', { type: 'submit', class: 'btn btn--danger', id: 'withdraw-go', disabled: true },
			'Delete everything');
		const cancel = h('button', { type: 'button', class: 'btn btn--quiet' }, 'Cancel');
		const err = h('p', { class: 'form-error', role: 'alert' });
		const dlg = h('dialog', { id: 'withdraw-dialog', 'aria-labelledby': 'withdraw-title' },
			h('form', { method: 'dialog' },
				h('h2', { id: 'withdraw-title' }, `Withdraw ${user}?`),
				h('p', {}, 'Their answers, requests, sessions, groups, record files and uploads are deleted ' +
					'and cannot be recovered. Type the userId to confirm.'),
				h('label', { for: 'withdraw-confirm' }, 'userId'), input, err,
				h('p', { class: 'actions' }, go, cancel)));
		input.addEventListener('input', () => { go.disabled = input.value !== user; });
		cancel.addEventListener('click', () => { dlg.close(); dlg.remove(); });
		dlg.querySelector('form').addEventListener('submit', async (e) => {
			e.preventDefault();
			go.disabled = true;
			try {
				const r = await api(`projects/${encodeURIComponent(project)}/participants/${encodeURIComponent(user)}/withdraw`,
					{ method: 'POST', body: { confirm: user, by: adminName() } });
				dlg.close();
				dlg.remove();
				showNotice(`${user} withdrawn: ${r.deleted.rows} rows, ${r.deleted.files.length} files and ` +
					`${r.deleted.uploads.length} uploads deleted (audit entry ${r.audit}).`, 'ok', true);
				done(r);
			} catch (ex) {
				err.textContent = ex.message;
				go.disabled = false;
			}
		});
		document.body.append(dlg);
		dlg.showModal();
		input.focus();
	});
	return btn;
}
