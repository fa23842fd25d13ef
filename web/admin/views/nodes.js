// Nodes: the nodes of the cluster this server belongs to (docs/cluster.md),
// refreshed every 2 s: address, game sessions against slots, whether its
// lease is current and whether it drains. "Drain…" asks a node, after a
// confirmation, to take no new sessions while its running games go on (the
// node learns it when it next renews its lease; it keeps running, idle once
// its games are over, until it is restarted).

import { adminName, api } from '../api.js';
import { clear, every, fmtTime, h } from '../dom.js';
import { showNotice } from '../app.js';

function state(n) {
	if (!n.live)
		return h('span', { class: 'tag tag--error' }, 'lost');
	if (n.draining)
		return h('span', { class: 'tag tag--warn' }, 'draining');
	return h('span', { class: 'tag tag--ok' }, 'live');
}

// The confirmation dialog of draining NAME; DONE() after it was asked.
function confirmDrain(name, done) {
	const go = h('button', { type: 'submit', class: 'btn btn--danger', id: 'drain-go' }, `Drain ${name}`);
	const cancel = h('button', { type: 'button', class: 'btn btn--quiet', id: 'drain-cancel' }, 'Cancel');
	const err = h('p', { class: 'form-error', role: 'alert' });
	const dlg = h('dialog', { id: 'drain-dialog', 'aria-labelledby': 'drain-title' },
		h('form', { method: 'dialog' },
			h('h2', { id: 'drain-title' }, `Drain node ${name}?`),
			h('p', {}, 'It takes no new game sessions from its next lease renewal on (within seconds); ' +
				'the games running on it go on to their end. It keeps running until it is restarted, ' +
				'which ends the drain.'),
			err, h('p', { class: 'actions' }, go, cancel)));
	const close = () => {
		dlg.close();
		dlg.remove();
	};
	cancel.addEventListener('click', close);
	dlg.querySelector('form').addEventListener('submit', async (e) => {
		e.preventDefault();
		go.disabled = true;
		try {
			const r = await api(`nodes/${encodeURIComponent(name)}/drain`,
				{ method: 'POST', body: { by: adminName() } });
			close();
			showNotice(`Node ${r.node} drains: it takes no new sessions (audit entry ${r.audit}).`, 'ok');
			done();
		} catch (ex) {
			err.textContent = ex.message;
			go.disabled = false;
		}
	});
	document.body.append(dlg);
	dlg.showModal();
	go.focus();
}

export async function render(main) {
	const tbody = h('tbody');
	const summary = h('p', { id: 'nodes-summary', class: 'muted' }, 'Loading…');
	main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Nodes'), summary),
		h('div', { class: 'card table-box' }, h('table', { class: 'table', id: 'nodes' },
			h('thead', {}, h('tr', {}, ['Node', 'Address', 'Internal address', 'Sessions', 'State',
				'Lease renewed', ''].map((t) => h('th', { scope: 'col' }, t)))),
			tbody)));
	let timer = null;
	const show = (d) => {
		clear(tbody);
		let used = 0;
		let slots = 0;
		for (const n of d.nodes) {
			if (n.live) {
				used += n.used;
				slots += n.slots;
			}
			const drain = n.live && !n.draining
				? h('button', { type: 'button', class: 'btn btn--quiet', 'data-drain': n.name,
					onclick: () => confirmDrain(n.name, () => load()) }, 'Drain…')
				: null;
			tbody.append(h('tr', { 'data-node': n.name, 'data-state': !n.live ? 'lost' : n.draining ? 'draining' : 'live' },
				h('td', {}, n.name, n.name === d.node ? [' ', h('span', { class: 'muted' }, '(this server)')] : null),
				h('td', { class: 'mono small' }, n.url || '–'),
				h('td', { class: 'mono small' }, n.internal || '–'),
				h('td', { class: 'num' }, `${n.used} / ${n.slots}`),
				h('td', {}, state(n)),
				h('td', {}, fmtTime(n.renewed)),
				h('td', {}, drain)));
		}
		if (!d.nodes.length)
			tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' },
				d.node ? 'No node is registered.' : 'This server is not a cluster node.')));
		summary.textContent = `${d.nodes.filter((n) => n.live).length} live of ${d.nodes.length} · ` +
			`${used} of ${slots} slots in use on the live nodes · updated ${new Date().toLocaleTimeString('en-GB')}`;
	};
	const load = async () => {
		try {
			show(await api('nodes'));
		} catch (e) {
			if (e.status !== 401)
				summary.textContent = `Not updated: ${e.message}`;
		}
	};
	timer = every(2000, load);
	return () => timer.stop();
}
