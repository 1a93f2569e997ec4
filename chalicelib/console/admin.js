/* Setu console: the leads' and admins' pages. Agents do not see them in the navigation (each
 * page's `roles`), and the API refuses them anyway: a 403 shows as a plain "not for you" line.
 *
 * Each page is <section class="NAME-page">, rebuilt in place after a write. Every write shows
 * success with Setu.toast and its error next to the form (.form-error); a 409 about a stale
 * `version` reloads the page and says so. Confirmations are inline (button.confirm), no dialogs.
 *
 * decisions   GET /tickets?has_decision=true, GET /agents (names);
 *             POST /tickets/{id}/decisions/{decision_id} {outcome, comment?, message?}
 * agents      GET /agents; POST /agents; PATCH /agents/{id} (with version);
 *             POST /agents/{id}/invite
 * macros      GET /macros[?archived=true], GET /macros/{name}?version=N; PUT /macros/{name};
 *             DELETE /macros/{name} (archive)
 * policies    GET /sla-policies, GET /calendars; PUT /sla-policies/{name}; PUT /calendars/{name}
 * held        GET /held?state=held|closed, GET /held/{id}; POST /held/{id}/release,
 *             POST /held/{id}/discard
 * departments GET /departments, GET /calendars, GET /sla-policies; PUT /departments/{name},
 *             DELETE /departments/{name}
 */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;
  var LEADS = ['lead', 'admin'], ADMINS = ['admin'];
  var uid = 0;

  // ---- shared helpers -------------------------------------------------------------------
  function problem(err) {
    if (err && err.status === 403) return h('p', { class: 'error forbidden', role: 'alert' }, t('adm.forbidden'));
    return S.errorBox(err);
  }
  /* A page: <section class="NAME-page"> with its title; load(reload) -> nodes (or a Promise of
   * them). reload() rebuilds the section in place, so toasts and the header stay. */
  function page(name, title, load) {
    var root = h('section', { class: name + '-page admin-page' });
    function reload() {
      return Promise.resolve().then(function () { return load(reload); }).then(function (nodes) {
        S.clear(root); S.append(root, [h('h1', null, t(title)), nodes]);
      }, function (err) {
        if (err && err.status === 401) return;
        S.clear(root); S.append(root, [h('h1', null, t(title)), problem(err)]);
      });
    }
    return reload().then(function () { return root; });
  }
  function errorSlot(box) {
    var slot = box.querySelector('.form-error');
    if (!slot) { slot = h('div', { class: 'form-error', 'aria-live': 'polite' }); box.appendChild(slot); }
    return slot;
  }
  /* Run a write started from `box` (a form or a card): buttons disabled meanwhile, success
   * toasted, then reload(); an error shown in the box; a stale version reloads and says so. */
  function write(box, call, okText, reload) {
    var slot = errorSlot(box);
    S.clear(slot);
    var buttons = Array.prototype.slice.call(box.querySelectorAll('button'));
    buttons.forEach(function (b) { b.disabled = true; });
    function enable() { buttons.forEach(function (b) { b.disabled = false; }); }
    return call().then(function (result) {
      enable();
      S.toast(typeof okText === 'function' ? okText(result) : okText);
      if (reload) reload();
      return result;
    }, function (err) {
      enable();
      if (err && err.status === 401) return;
      if (err && err.status === 409 && (!err.fields || err.fields.version) && reload) {
        S.toast(t('adm.stale'), 'error');
        reload();
        return;
      }
      slot.appendChild(err && err.status === 403
        ? h('p', { class: 'error forbidden', role: 'alert' }, t('adm.not_allowed') + (err.message ? ' (' + err.message + ')' : ''))
        : S.errorBox(err));
    });
  }
  /* A button asking "really?" in place: [label] -> question [yes] [cancel]. */
  function confirmButton(cls, label, question, yes, action) {
    var wrap = h('span', { class: 'confirm-wrap' });
    var btn = h('button', { type: 'button', class: cls, onclick: ask }, label);
    function back() { S.clear(wrap); wrap.appendChild(btn); }
    function ask() {
      S.clear(wrap);
      wrap.appendChild(h('span', { class: 'confirm-box', role: 'alert' }, h('span', null, question), ' ',
        h('button', { type: 'button', class: 'danger confirm', onclick: function () { back(); action(); } }, yes),
        h('button', { type: 'button', class: 'cancel', onclick: back }, t('cancel'))));
      wrap.querySelector('button.confirm').focus();
    }
    wrap.appendChild(btn);
    return wrap;
  }
  var field = S.field;
  function input(name, value, attrs) {
    return h('input', Object.assign({ name: name, value: value === null || value === undefined ? '' : value, autocomplete: 'off' }, attrs || {}));
  }
  function textarea(name, value, attrs) {
    var el = h('textarea', Object.assign({ name: name }, attrs || {}));
    el.value = value || '';
    return el;
  }
  /* options: [[value, label], ...] */
  function select(name, options, value) {
    return h('select', { name: name }, options.map(function (o) {
      return h('option', { value: o[0], selected: String(o[0]) === String(value === null || value === undefined ? '' : value) }, o[1]);
    }));
  }
  function check(name, checked, label, value) {
    return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: name, value: value || 'on', checked: checked }), ' ', label);
  }
  function val(form, name) { var el = form.elements[name]; return el ? String(el.value).trim() : ''; }
  function checked(form, name) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name="' + name + '"]'))
      .filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
  }
  function isChecked(form, name) { var el = form.querySelector('input[name="' + name + '"]'); return !!(el && el.checked); }
  /* A search field that hides the cards of `list` whose text does not contain what is typed. */
  function filterBox(list, hint) {
    var box = h('input', { type: 'search', name: 'filter', class: 'filter', placeholder: hint, 'aria-label': hint, autocomplete: 'off' });
    box.addEventListener('input', function () {
      var q = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(list.children, function (card) {
        card.hidden = !!q && card.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
    return box;
  }
  function pill(text, cls) { return h('span', { class: 'pill ' + (cls || '') }, text); }
  function buttons() { return h('div', { class: 'row actions' }, Array.prototype.slice.call(arguments)); }
  /* A card's editor: toggled by an "Edit" button, built when first opened. */
  function toggler(cls, label, build) {
    var holder = h('div', { class: 'editor', hidden: true });
    var btn = h('button', { type: 'button', class: cls, 'aria-expanded': 'false', onclick: function () {
      if (holder.hidden) { S.clear(holder); holder.appendChild(build(close)); holder.hidden = false; btn.setAttribute('aria-expanded', 'true');
        var first = holder.querySelector('input:not([type=hidden]):not([readonly]), select, textarea'); if (first) first.focus(); }
      else close();
    } }, label);
    function close() { holder.hidden = true; S.clear(holder); btn.setAttribute('aria-expanded', 'false'); }
    return { button: btn, holder: holder };
  }
  function departmentChecks(name, selected) {
    return h('fieldset', { class: 'checks departments' }, h('legend', null, t('adm.departments')),
      (S.departments || []).map(function (d) {
        return check(name, (selected || []).indexOf(d.name) >= 0, S.departmentLabel(d.name) + (d.active === false ? ' (' + t('adm.inactive') + ')' : ''), d.name);
      }));
  }
  function langOptions() { return [['', t('adm.lang.none')], ['bn', 'বাংলা'], ['en', 'English']]; }
  function roleOptions() { return ['agent', 'lead', 'admin'].map(function (r) { return [r, S.label('role', r)]; }); }
  function nullIfEmpty(v) { return v === '' ? null : v; }

  /* The team by principal (GET /agents): names for "asked by". */
  var team = null;
  function loadTeam() {
    return allAgents().then(function (list) {
      team = {};
      list.forEach(function (a) { team[a.principal] = a; team[a.id] = a; });
      return team;
    }, function () { team = {}; return team; });
  }
  function personName(principal) {
    if (!principal) return '–';
    var a = team && team[principal];
    if (a) return a.display_name || a.short_name;
    return String(principal).split('/').pop();
  }
  function allAgents() {
    var out = [];
    function next(cursor) {
      return S.api('GET', '/agents' + S.query({ limit: 500, cursor: cursor })).then(function (r) {
        out = out.concat(r.items || []);
        return r.next ? next(r.next) : out;
      });
    }
    return next(null);
  }

  // ---- decisions ------------------------------------------------------------------------
  function decisionsPage() {
    return page('decisions', 'nav.decisions', function (reload) {
      return Promise.all([S.api('GET', '/tickets' + S.query({ has_decision: 'true', limit: 100 })), loadTeam()]).then(function (r) {
        var items = (r[0].items || []).filter(function (tk) { return tk.decision && tk.decision.state === 'requested'; });
        if (!items.length) return h('p', { class: 'muted empty', role: 'status' }, t('adm.dec.none'));
        return [h('p', { class: 'muted count', role: 'status' }, t('adm.dec.count', { n: items.length })),
          h('ul', { class: 'cards decision-list' }, items.map(function (tk) { return decisionCard(tk, reload); }))];
      });
    });
  }
  function decisionCard(tk, reload) {
    var d = tk.decision;
    var form = h('form', { class: 'decide' }, h('div', { class: 'two' },
      field(t('adm.dec.comment'), textarea('comment', '', { rows: 2, maxlength: 2000 }), t('adm.dec.comment_hint')),
      field(t('adm.dec.message'), textarea('message', '', { rows: 2, maxlength: 2000 }), t('adm.dec.message_hint'))),
      buttons(h('button', { type: 'button', class: 'primary approve', 'data-outcome': 'approved', onclick: function () { decide('approved'); } }, t('adm.dec.approve')),
        h('button', { type: 'button', class: 'danger reject', 'data-outcome': 'rejected', onclick: function () { decide('rejected'); } }, t('adm.dec.reject'))));
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    function decide(outcome) {
      var body = { outcome: outcome };
      if (val(form, 'comment')) body.comment = val(form, 'comment');
      if (val(form, 'message')) body.message = val(form, 'message');
      write(form, function () {
        return S.api('POST', '/tickets/' + encodeURIComponent(tk.id) + '/decisions/' + encodeURIComponent(d.id), body);
      }, t(outcome === 'approved' ? 'adm.dec.approved' : 'adm.dec.rejected', { ref: '#' + tk.ref }), reload);
    }
    return h('li', { class: 'card decision', 'data-ref': tk.ref, 'data-decision': d.id },
      h('div', { class: 'row head' },
        S.link('tickets/' + encodeURIComponent(tk.ref), '#' + tk.ref, { class: 'ref' }),
        h('span', { class: 'subject' }, tk.subject || t('queue.no_subject')),
        pill(S.label('status', tk.status), 'status ' + tk.status),
        tk.priority !== 'normal' ? pill(S.label('priority', tk.priority), 'priority ' + tk.priority) : null),
      h('p', { class: 'muted meta' }, [tk.customer_name, S.departmentLabel(tk.department)].filter(Boolean).join(' · ')),
      h('blockquote', { class: 'question' }, d.question),
      h('p', { class: 'meta' },
        t('adm.dec.asked', { who: personName(d.requested_by), when: S.when(d.requested_at, 'short') }), ' ',
        S.dueBadge(d.due_at, false),
        d.approver ? h('span', { class: 'muted' }, ' · ' + t('adm.dec.approver', { who: personName(d.approver) })) : null,
        d.reminders ? h('span', { class: 'muted' }, ' · ' + t('adm.dec.reminders', { n: d.reminders })) : null),
      form);
  }

  // ---- agents ---------------------------------------------------------------------------
  function agentsPage() {
    return page('agents', 'nav.agents', function (reload) {
      return allAgents().then(function (list) {
        list.sort(function (a, b) {
          if (a.active !== b.active) return a.active ? -1 : 1;
          return String(a.display_name || a.short_name).localeCompare(String(b.display_name || b.short_name));
        });
        var admin = S.isAdmin();
        var cards = h('ul', { class: 'cards agent-list' }, list.map(function (a) { return agentCard(a, admin, reload); }));
        return [
          admin ? newAgent(reload) : h('p', { class: 'muted' }, t('adm.ag.read_only')),
          h('div', { class: 'row list-head' }, h('p', { class: 'muted count', role: 'status' }, t('adm.ag.count', { n: list.filter(function (a) { return a.active; }).length, all: list.length })),
            list.length > 6 ? filterBox(cards, t('adm.ag.filter')) : null),
          cards];
      });
    });
  }
  function agentFields(a) {
    return [
      field(t('adm.ag.display_name'), input('display_name', a.display_name, { maxlength: 200 })),
      field(t('adm.ag.email'), input('email', a.email, { type: 'email', maxlength: 254 })),
      field(t('adm.ag.role'), select('role', roleOptions(), a.role || 'agent')),
      departmentChecks('departments', a.departments),
      field(t('adm.ag.lang'), select('lang', langOptions(), a.lang || ''))];
  }
  function newAgent(reload) {
    var form = h('form', { class: 'agent-new' },
      field(t('adm.ag.principal'), input('principal', '', { maxlength: 2048, placeholder: 'arn:aws:iam::123456789012:user/name' }), t('adm.ag.principal_hint')),
      agentFields({}),
      check('invite', true, t('adm.ag.invite_now')),
      buttons(h('button', { type: 'submit', class: 'primary' }, t('adm.ag.add'))));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = { role: val(form, 'role') };
      if (val(form, 'principal')) body.principal = val(form, 'principal');
      if (val(form, 'display_name')) body.display_name = val(form, 'display_name');
      if (val(form, 'email')) body.email = val(form, 'email');
      if (val(form, 'lang')) body.lang = val(form, 'lang');
      body.departments = checked(form, 'departments');
      var invite = isChecked(form, 'invite') && body.email;
      write(form, function () {
        return S.api('POST', '/agents', body).then(function (agent) {
          if (!invite) return { agent: agent };
          return S.api('POST', '/agents/' + encodeURIComponent(agent.id) + '/invite').then(function (r) { return r; },
            function (err) { S.toast(t('adm.ag.invite_failed') + ' ' + S.errorText(err), 'error'); return { agent: agent }; });
        });
      }, function (r) { return r.invitation ? t('adm.ag.added_invited') : t('adm.ag.added'); }, reload);
    });
    return h('details', { class: 'card add' }, h('summary', null, t('adm.ag.add_title')), form);
  }
  function agentCard(a, admin, reload) {
    var card = h('li', { class: 'card agent' + (a.active ? '' : ' inactive'), 'data-id': a.id, 'data-short-name': a.short_name || '' });
    var edit = admin ? toggler('edit', t('adm.edit'), function (close) { return agentEditor(a, reload, close); }) : null;
    var actions = admin ? buttons(edit.button,
      a.email && a.active ? h('button', { type: 'button', class: 'invite', onclick: function () {
        write(card, function () { return S.api('POST', '/agents/' + encodeURIComponent(a.id) + '/invite'); },
          function (r) { return t('adm.ag.invitation.' + r.invitation, { email: a.email }); }, reload);
      } }, a.console_user ? t('adm.ag.invite_again') : t('adm.ag.invite')) : null,
      a.active
        ? confirmButton('danger deactivate', t('adm.ag.deactivate'), t('adm.ag.deactivate_q'), t('adm.ag.deactivate'), function () {
          write(card, function () { return S.api('PATCH', '/agents/' + encodeURIComponent(a.id), { active: false, version: a.version }); },
            t('adm.ag.deactivated'), reload);
        })
        : h('button', { type: 'button', class: 'reactivate', onclick: function () {
          write(card, function () { return S.api('PATCH', '/agents/' + encodeURIComponent(a.id), { active: true, version: a.version }); },
            t('adm.ag.reactivated'), reload);
        } }, t('adm.ag.reactivate'))) : null;
    S.append(card, [
      h('div', { class: 'row head' }, h('h2', { class: 'name' }, a.display_name || a.short_name),
        pill(S.label('role', a.role), 'role ' + a.role),
        a.active ? null : pill(t('adm.inactive'), 'inactive'),
        a.away ? pill(t('adm.ag.away'), 'away') : null),
      h('dl', { class: 'facts' },
        fact(t('adm.ag.short_name'), a.short_name),
        a.email !== undefined ? fact(t('adm.ag.email'), a.email || '–') : null,
        fact(t('adm.departments'), (a.departments || []).length ? a.departments.map(S.departmentLabel).join(', ') : t('adm.ag.all_departments')),
        fact(t('adm.ag.lang'), a.lang ? (a.lang === 'bn' ? 'বাংলা' : 'English') : t('adm.lang.none')),
        a.console_user !== undefined ? fact(t('adm.ag.console'), a.console_user ? h('span', { class: 'console-user' }, a.console_user) : h('span', { class: 'muted' }, t('adm.ag.not_invited'))) : null,
        a.principal && a.principal.indexOf('arn:') === 0 ? fact(t('adm.ag.principal'), h('code', { class: 'principal' }, a.principal))
          : (a.principal ? fact(t('adm.ag.access'), t('adm.ag.console_only')) : null)),
      actions, edit ? edit.holder : null]);
    return card;
  }
  function fact(label, value) { return [h('dt', null, label), h('dd', null, value === null || value === undefined || value === '' ? '–' : value)]; }
  function agentEditor(a, reload, close) {
    var form = h('form', { class: 'agent-edit' }, agentFields(a),
      check('away', a.away, t('adm.ag.away_long')),
      buttons(h('button', { type: 'submit', class: 'primary' }, t('save')), h('button', { type: 'button', onclick: close }, t('cancel'))));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = { version: a.version, role: val(form, 'role'), display_name: nullIfEmpty(val(form, 'display_name')),
        email: nullIfEmpty(val(form, 'email')), departments: checked(form, 'departments'),
        lang: nullIfEmpty(val(form, 'lang')), away: isChecked(form, 'away') };
      write(form, function () { return S.api('PATCH', '/agents/' + encodeURIComponent(a.id), body); }, t('adm.saved'), reload);
    });
    return form;
  }

  // ---- macros ---------------------------------------------------------------------------
  function macrosPage(params, query) {
    var archived = query.archived === 'true';
    return page('macros', 'nav.macros', function (reload) {
      return S.api('GET', '/macros' + S.query({ limit: 500, archived: archived ? 'true' : null })).then(function (r) {
        var items = (r.items || []).filter(function (m) { return !!m.archived === archived; });
        var tabs = h('nav', { class: 'tabs', 'aria-label': t('nav.macros') },
          S.link('macros', t('adm.mac.current'), { class: 'tab' + (archived ? '' : ' active'), 'aria-current': archived ? null : 'page' }),
          S.link('macros?archived=true', t('adm.mac.archived'), { class: 'tab' + (archived ? ' active' : ''), 'aria-current': archived ? 'page' : null }));
        var cards = h('ul', { class: 'cards macro-list' }, items.map(function (m) { return macroCard(m, reload); }));
        return [tabs, archived ? null : h('details', { class: 'card add' }, h('summary', null, t('adm.mac.add_title')), macroEditor(null, reload)),
          items.length > 6 ? h('div', { class: 'row list-head' }, filterBox(cards, t('adm.mac.filter'))) : null,
          items.length ? cards : h('p', { class: 'muted empty' }, t(archived ? 'adm.mac.none_archived' : 'adm.mac.none'))];
      });
    });
  }
  function macroCard(m, reload) {
    var card = h('li', { class: 'card macro' + (m.archived ? ' archived' : ''), 'data-name': m.name });
    var edit = m.archived ? null : toggler('edit', t('adm.edit'), function (close) { return macroEditor(m, reload, close); });
    var versions = h('div', { class: 'version-box', hidden: true });
    var versionsBtn = m.version > 1 ? h('button', { type: 'button', class: 'versions', onclick: function () {
      versions.hidden = !versions.hidden;
      if (!versions.hidden && !versions.firstChild) versions.appendChild(versionViewer(m));
    } }, t('adm.mac.versions', { n: m.version })) : null;
    S.append(card, [
      h('div', { class: 'row head' }, h('h2', { class: 'name' }, m.title), h('code', null, m.name),
        pill(t('adm.mac.version', { n: m.version }), 'version'),
        (m.channels || []).map(function (c) { return pill(S.label('channel', c), 'channel'); }),
        m.archived ? pill(t('adm.mac.archived_one'), 'inactive') : null),
      macroActions(m.actions),
      h('p', { class: 'muted meta' }, t('adm.mac.updated', { when: S.when(m.updated_at, 'short'), who: String(m.updated_by || '').split('/').pop() })),
      macroBodies(m),
      buttons(edit ? edit.button : null, versionsBtn,
        !m.archived && S.isAdmin() ? confirmButton('danger archive', t('adm.mac.archive'), t('adm.mac.archive_q'), t('adm.mac.archive'), function () {
          write(card, function () { return S.api('DELETE', '/macros/' + encodeURIComponent(m.name)); }, t('adm.mac.archived_ok'), reload);
        }) : null),
      versions, edit ? edit.holder : null]);
    return card;
  }
  function macroActions(actions) {
    if (!actions || (!actions.status && !actions.priority)) return null;
    return h('p', { class: 'meta' }, t('adm.mac.then'), ' ',
      actions.status ? pill(S.label('status', actions.status), 'status ' + actions.status) : null,
      actions.priority ? pill(S.label('priority', actions.priority), 'priority ' + actions.priority) : null);
  }
  function macroBodies(m) {
    return h('div', { class: 'macro-bodies' }, ['bn', 'en'].map(function (l) {
      if (!m.body || !m.body[l]) return null;
      return h('div', { class: 'macro-body', lang: l },
        h('div', { class: 'muted lang-label' }, l === 'bn' ? 'বাংলা' : 'English', m.subject && m.subject[l] ? ' · ' + m.subject[l] : ''),
        h('pre', { class: 'template' }, m.body[l]));
    }));
  }
  function versionViewer(m) {
    var shown = h('div', { class: 'version-shown' });
    var opts = [];
    for (var v = m.version; v >= 1; v--) opts.push([v, t('adm.mac.version', { n: v }) + (v === m.version ? ' (' + t('adm.mac.latest') + ')' : '')]);
    var sel = select('version', opts, m.version - 1);
    sel.id = 'adm' + (++uid);
    function show() {
      S.clear(shown).appendChild(h('p', { class: 'loading' }, t('loading')));
      S.api('GET', '/macros/' + encodeURIComponent(m.name) + '?version=' + encodeURIComponent(sel.value)).then(function (old) {
        S.clear(shown);
        S.append(shown, [h('p', { class: 'muted meta' }, old.title, ' · ', t('adm.mac.updated', { when: S.when(old.updated_at, 'short'), who: String(old.updated_by || '').split('/').pop() })),
          macroActions(old.actions), macroBodies(old)]);
      }, function (err) { S.clear(shown).appendChild(problem(err)); });
    }
    sel.addEventListener('change', show);
    var box = h('div', null, h('label', { for: sel.id }, t('adm.mac.see_version')), ' ', sel, shown);
    show();
    return box;
  }
  function macroEditor(m, reload, close) {
    var isNew = !m;
    m = m || { channels: ['email', 'sms'], body: {}, subject: null, actions: {}, version: 0 };
    var subject = m.subject || {}, actions = m.actions || {};
    var form = h('form', { class: 'macro-edit' },
      isNew ? field(t('adm.mac.name'), input('name', '', { required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}' }), t('adm.mac.name_hint')) : null,
      field(t('adm.mac.title'), input('title', m.title, { required: true, maxlength: 200 })),
      h('fieldset', { class: 'checks' }, h('legend', null, t('adm.mac.channels')),
        ['email', 'sms'].map(function (c) { return check('channels', (m.channels || []).indexOf(c) >= 0, S.label('channel', c), c); })),
      h('div', { class: 'two' },
        h('div', { lang: 'bn' }, field(t('adm.mac.subject_bn'), input('subject_bn', subject.bn, { maxlength: 1000 })),
          field(t('adm.mac.body_bn'), textarea('body_bn', m.body && m.body.bn, { rows: 6, maxlength: 10000 }))),
        h('div', { lang: 'en' }, field(t('adm.mac.subject_en'), input('subject_en', subject.en, { maxlength: 1000 })),
          field(t('adm.mac.body_en'), textarea('body_en', m.body && m.body.en, { rows: 6, maxlength: 10000 })))),
      h('p', { class: 'muted hint' }, t('adm.mac.template_hint')),
      h('div', { class: 'row' },
        field(t('adm.mac.set_status'), select('action_status', [['', t('adm.mac.no_change')]].concat(['open', 'pending', 'resolved', 'closed'].map(function (s) { return [s, S.label('status', s)]; })), actions.status)),
        field(t('adm.mac.set_priority'), select('action_priority', [['', t('adm.mac.no_change')]].concat(['low', 'normal', 'high', 'urgent'].map(function (p) { return [p, S.label('priority', p)]; })), actions.priority))),
      buttons(h('button', { type: 'submit', class: 'primary' }, isNew ? t('adm.mac.create') : t('save')),
        close ? h('button', { type: 'button', onclick: close }, t('cancel')) : null));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = isNew ? val(form, 'name') : m.name;
      var body = {}, subj = {}, act = {};
      if (val(form, 'body_bn')) body.bn = form.elements.body_bn.value;
      if (val(form, 'body_en')) body.en = form.elements.body_en.value;
      if (val(form, 'subject_bn')) subj.bn = val(form, 'subject_bn');
      if (val(form, 'subject_en')) subj.en = val(form, 'subject_en');
      if (val(form, 'action_status')) act.status = val(form, 'action_status');
      if (val(form, 'action_priority')) act.priority = val(form, 'action_priority');
      var payload = { title: val(form, 'title'), body: body, subject: Object.keys(subj).length ? subj : null,
        channels: checked(form, 'channels'), actions: Object.keys(act).length ? act : null, version: m.version || 0 };
      if (!payload.channels.length) delete payload.channels;
      if (!Object.keys(body).length) { S.clear(errorSlot(form)).appendChild(h('p', { class: 'error', role: 'alert' }, t('adm.mac.need_body'))); return; }
      write(form, function () { return S.api('PUT', '/macros/' + encodeURIComponent(name), payload); },
        function (r) { return t('adm.mac.saved', { name: name, n: r && r.version }); }, reload);
    });
    return form;
  }

  // ---- SLA policies and calendars ----------------------------------------------------------
  var POLICY_FIELDS = ['first_response', 'next_reply', 'resolution', 'warn_before', 'checkin_after', 'remind_after',
    'close_after', 'escalate_every', 'escalate_lead_after', 'escalate_manager_after', 'decide_within', 'decision_remind_every'];
  var WEEK = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  /* PT4H -> "4 h", P2D -> "2 business days", off -> "off" (in the language). */
  function isoHuman(v) {
    if (v === null || v === undefined || v === '') return '–';
    if (v === 'off') return t('adm.pol.off');
    var m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(v);
    if (!m) return String(v);
    var parts = [];
    if (m[1]) parts.push(t(+m[1] === 1 ? 'adm.dur.bd1' : 'adm.dur.bd', { n: +m[1] }));
    if (m[2]) parts.push(t('dur.h', { n: +m[2] }));
    if (m[3]) parts.push(t('dur.min', { n: +m[3] }));
    if (m[4]) parts.push(t('adm.dur.s', { n: +m[4] }));
    return parts.join(' ') || String(v);
  }
  function policiesPage() {
    return page('policies', 'nav.policies', function (reload) {
      return Promise.all([S.api('GET', '/sla-policies'), S.api('GET', '/calendars')]).then(function (r) {
        var policies = r[0].items || [], calendars = r[1].items || [];
        var admin = S.isAdmin();
        return [
          h('h2', { id: 'sla-policies' }, t('adm.pol.policies')),
          h('p', { class: 'muted hint' }, t('adm.pol.intro')),
          admin ? h('details', { class: 'card add' }, h('summary', null, t('adm.pol.add_title')), policyEditor(null, calendars, reload)) : null,
          h('ul', { class: 'cards policy-list' }, policies.map(function (p) { return policyCard(p, calendars, admin, reload); })),
          h('h2', { id: 'calendars' }, t('adm.cal.calendars')),
          admin ? h('details', { class: 'card add' }, h('summary', null, t('adm.cal.add_title')), calendarEditor(null, reload)) : null,
          h('ul', { class: 'cards calendar-list' }, calendars.map(function (c) { return calendarCard(c, admin, reload); }))];
      });
    });
  }
  function policyCard(p, calendars, admin, reload) {
    var set = p.set || {}, inherited = p.inherited || [], eff = p.effective || p;
    var edit = admin ? toggler('edit', t('adm.edit'), function (close) { return policyEditor(p, calendars, reload, close); }) : null;
    function sourceOf(f) { return f in set ? 'set' : (inherited.indexOf(f) >= 0 ? 'inherited' : 'unset'); }
    // the timers in effect in the table; the ones nobody set in one line under it
    var shown = POLICY_FIELDS.filter(function (f) { return sourceOf(f) !== 'unset' || (eff[f] !== null && eff[f] !== undefined); });
    var unset = POLICY_FIELDS.filter(function (f) { return shown.indexOf(f) < 0; });
    return h('li', { class: 'card policy', 'data-name': p.name },
      h('div', { class: 'row head' }, h('h2', { class: 'name' }, p.name), p.builtin ? pill(t('adm.builtin'), 'builtin') : null,
        h('span', { class: 'muted' }, t('adm.pol.calendar_is', { name: eff.calendar || p.calendar }))),
      (p.warnings || []).map(function (w) { return h('p', { class: 'warning' }, w); }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'policy-fields' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('adm.pol.field')), h('th', { scope: 'col' }, t('adm.pol.effective')), h('th', { scope: 'col' }, t('adm.pol.source')))),
        h('tbody', null, shown.map(function (f) {
          var source = sourceOf(f);
          return h('tr', { 'data-field': f, class: 'src-' + source },
            h('th', { scope: 'row' }, t('adm.pol.f.' + f)),
            h('td', null, isoHuman(eff[f]), eff[f] && eff[f] !== 'off' ? h('code', { class: 'muted iso' }, ' ' + eff[f]) : null),
            h('td', null, pill(t('adm.pol.src.' + source), 'src ' + source)));
        })))),
      unset.length ? h('p', { class: 'muted meta unset-fields' }, t('adm.pol.not_set', { list: unset.map(function (f) { return t('adm.pol.f.' + f); }).join(', ') })) : null,
      h('p', { class: 'meta used-by' }, h('strong', null, t('adm.pol.used_by')), ' ',
        (p.used_by || []).length ? usedBy(p.used_by) : h('span', { class: 'muted' }, t('adm.pol.unused'))),
      edit ? buttons(edit.button) : null, edit ? edit.holder : null);
  }
  /* billing/low, billing/normal, ... -> "Billing (all priorities)" or "Billing: High, Urgent". */
  function usedBy(pairs) {
    var byDept = {};
    pairs.forEach(function (pair) {
      var parts = String(pair).split('/');
      (byDept[parts[0]] = byDept[parts[0]] || []).push(parts[1]);
    });
    return Object.keys(byDept).map(function (d) {
      var prios = byDept[d];
      var text = S.departmentLabel(d) + (prios.length >= 4 ? '' : ': ' + prios.map(function (p) { return S.label('priority', p); }).join(', '));
      return pill(text, 'dept');
    });
  }
  function policyEditor(p, calendars, reload, close) {
    var isNew = !p;
    var set = (p && p.set) || {}, eff = (p && p.effective) || {};
    var calOptions = calendars.map(function (c) { return [c.name, c.name]; });
    var form = h('form', { class: 'policy-edit' },
      isNew ? field(t('adm.pol.name'), input('name', '', { required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}' }), t('adm.pol.name_hint')) : null,
      field(t('adm.pol.calendar'), select('calendar', calOptions, set.calendar || (p && p.calendar) || '24x7')),
      h('p', { class: 'muted hint' }, t('adm.pol.iso_hint')),
      h('div', { class: 'grid' }, POLICY_FIELDS.map(function (f) {
        var placeholder = !(f in set) && eff[f] ? t('adm.pol.inherits', { v: eff[f] }) : '';
        return field(t('adm.pol.f.' + f), input(f, set[f], { maxlength: 64, placeholder: placeholder, inputmode: 'text', spellcheck: 'false' }));
      })),
      buttons(h('button', { type: 'submit', class: 'primary' }, isNew ? t('adm.pol.create') : t('save')),
        close ? h('button', { type: 'button', onclick: close }, t('cancel')) : null));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = isNew ? val(form, 'name') : p.name;
      var body = { calendar: val(form, 'calendar') };
      POLICY_FIELDS.forEach(function (f) { var v = val(form, f); if (v) body[f] = v; });
      write(form, function () { return S.api('PUT', '/sla-policies/' + encodeURIComponent(name), body); },
        function (r) { return (r && r.warnings && r.warnings.length) ? t('adm.pol.saved_warn', { name: name }) : t('adm.pol.saved', { name: name }); }, reload);
    });
    return form;
  }
  function windowsText(list) {
    return (list || []).map(function (w) { return w[0] + '–' + w[1]; }).join(', ');
  }
  function calendarCard(c, admin, reload) {
    var edit = admin && !c.always_open ? toggler('edit', t('adm.edit'), function (close) { return calendarEditor(c, reload, close); }) : null;
    var special = c.special || {};
    return h('li', { class: 'card calendar', 'data-name': c.name },
      h('div', { class: 'row head' }, h('h2', { class: 'name' }, c.name), c.builtin ? pill(t('adm.builtin'), 'builtin') : null,
        c.timezone ? h('span', { class: 'muted' }, c.timezone) : null),
      c.always_open ? h('p', null, t('adm.cal.always_open')) : [
        h('table', { class: 'week' }, h('tbody', null, WEEK.map(function (d) {
          var w = (c.hours || {})[d];
          return h('tr', { 'data-day': d, class: w && w.length ? 'open' : 'closed' }, h('th', { scope: 'row' }, t('adm.day.' + d)),
            h('td', null, w && w.length ? S.digits(windowsText(w)) : h('span', { class: 'muted' }, t('adm.cal.closed_day'))));
        }))),
        h('p', { class: 'meta' }, h('strong', null, t('adm.cal.holidays')), ' ', c.holidays_country ? t('adm.cal.holidays_of', { country: c.holidays_country }) : t('adm.cal.no_holidays')),
        h('p', { class: 'meta' }, h('strong', null, t('adm.cal.closed')), ' ', (c.closed || []).length
          ? c.closed.map(function (d) { return S.when(d + 'T12:00:00Z', 'date'); }).join(', ') : h('span', { class: 'muted' }, t('adm.none'))),
        h('p', { class: 'meta' }, h('strong', null, t('adm.cal.special')), ' ', Object.keys(special).length
          ? Object.keys(special).sort().map(function (d) { return S.when(d + 'T12:00:00Z', 'date') + ' ' + S.digits(windowsText(special[d])); }).join('; ')
          : h('span', { class: 'muted' }, t('adm.none')))],
      edit ? buttons(edit.button) : null, edit ? edit.holder : null);
  }
  var TIME = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
  /* "09:30-13:00, 14:00-18:00" -> [["09:30","13:00"],["14:00","18:00"]]; throws on a bad one. */
  function parseWindows(text, what) {
    text = text.replace(/[–—]/g, '-').trim();
    if (!text) return [];
    return text.split(/[,;]/).map(function (part) {
      var m = part.trim().split(/\s*-\s*/);
      if (m.length !== 2 || !TIME.test(m[0]) || !TIME.test(m[1])) throw new Error(t('adm.cal.bad_hours', { what: what, text: part.trim() }));
      return [m[0], m[1]];
    });
  }
  function calendarEditor(c, reload, close) {
    var isNew = !c;
    c = c || { timezone: S.conf.timezone || 'Asia/Dhaka', hours: { sun: [['09:30', '18:00']], mon: [['09:30', '18:00']], tue: [['09:30', '18:00']], wed: [['09:30', '18:00']], thu: [['09:30', '18:00']] }, holidays_country: 'BD', closed: [], special: {} };
    var special = c.special || {};
    var form = h('form', { class: 'calendar-edit' },
      isNew ? field(t('adm.cal.name'), input('name', '', { required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}' }), t('adm.pol.name_hint')) : null,
      h('div', { class: 'row' },
        field(t('adm.cal.timezone'), input('timezone', c.timezone, { maxlength: 64 })),
        field(t('adm.cal.country'), input('holidays_country', c.holidays_country, { maxlength: 3, size: 4 }), t('adm.cal.country_hint'))),
      h('fieldset', { class: 'hours' }, h('legend', null, t('adm.cal.hours')), h('p', { class: 'muted hint' }, t('adm.cal.hours_hint')),
        WEEK.map(function (d) { return field(t('adm.day.' + d), input('hours_' + d, windowsText((c.hours || {})[d]).replace(/–/g, '-'), { placeholder: t('adm.cal.closed_day') })); })),
      field(t('adm.cal.closed'), textarea('closed', (c.closed || []).join('\n'), { rows: 3, placeholder: '2026-12-16' }), t('adm.cal.closed_hint')),
      field(t('adm.cal.special'), textarea('special', Object.keys(special).sort().map(function (d) { return d + ' ' + windowsText(special[d]).replace(/–/g, '-'); }).join('\n'),
        { rows: 3, placeholder: '2026-12-31 09:30-13:00' }), t('adm.cal.special_hint')),
      buttons(h('button', { type: 'submit', class: 'primary' }, isNew ? t('adm.cal.create') : t('save')),
        close ? h('button', { type: 'button', onclick: close }, t('cancel')) : null));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = isNew ? val(form, 'name') : c.name;
      var body = { hours: {}, closed: [], special: {} };
      try {
        WEEK.forEach(function (d) { var w = parseWindows(val(form, 'hours_' + d), t('adm.day.' + d)); if (w.length) body.hours[d] = w; });
        val(form, 'closed').split(/[\s,]+/).forEach(function (d) {
          if (!d) return;
          if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new Error(t('adm.cal.bad_date', { text: d }));
          body.closed.push(d);
        });
        val(form, 'special').split('\n').forEach(function (line) {
          line = line.trim();
          if (!line) return;
          var m = /^(\d{4}-\d{2}-\d{2})\s+(.*)$/.exec(line);
          if (!m) throw new Error(t('adm.cal.bad_special', { text: line }));
          body.special[m[1]] = parseWindows(m[2], m[1]);
        });
      } catch (err) {
        S.clear(errorSlot(form)).appendChild(h('p', { class: 'error', role: 'alert' }, err.message));
        return;
      }
      if (val(form, 'timezone')) body.timezone = val(form, 'timezone');
      body.holidays_country = val(form, 'holidays_country') || null;
      write(form, function () { return S.api('PUT', '/calendars/' + encodeURIComponent(name), body); },
        t('adm.cal.saved', { name: name }), reload);
    });
    return form;
  }

  // ---- held for review --------------------------------------------------------------------
  var REASONS = ['no_sender', 'unparseable', 'too_large', 'spam', 'virus', 'raw_missing', 'unmatched_bounce',
    'unreadable_sms', 'empty_message', 'unreadable_event', 'unauthenticated'];
  function heldPage(params, query) {
    var closed = query.state === 'closed';
    return page('held', 'nav.held', function (reload) {
      function getPage(cursor) { return S.api('GET', '/held' + S.query({ state: closed ? 'closed' : 'held', limit: 50, cursor: cursor })); }
      return Promise.all([getPage(null), loadTeam()]).then(function (all) {
        var items = all[0].items || [], cursor = all[0].next;
        var list = h('ul', { class: 'cards held-list' }, items.map(function (it) { return heldCard(it, reload); }));
        var more = h('button', { type: 'button', class: 'more', hidden: !cursor, onclick: function () {
          more.disabled = true;
          getPage(cursor).then(function (r) {
            (r.items || []).forEach(function (it) { list.appendChild(heldCard(it, reload)); });
            cursor = r.next; more.hidden = !cursor; more.disabled = false;
          }, function (err) { more.disabled = false; S.toast(S.errorText(err), 'error'); });
        } }, t('queue.more'));
        var tabs = h('nav', { class: 'tabs', 'aria-label': t('nav.held') },
          S.link('held', t('adm.held.waiting'), { class: 'tab' + (closed ? '' : ' active'), 'aria-current': closed ? null : 'page' }),
          S.link('held?state=closed', t('adm.held.closed'), { class: 'tab' + (closed ? ' active' : ''), 'aria-current': closed ? 'page' : null }));
        return [tabs, h('p', { class: 'muted hint' }, t('adm.held.intro')),
          items.length ? [list, more] : h('p', { class: 'muted empty', role: 'status' }, t(closed ? 'adm.held.none_closed' : 'adm.held.none'))];
      });
    });
  }
  function reasonLabel(reason) { return REASONS.indexOf(reason) >= 0 ? t('adm.held.r.' + reason) : reason; }
  function heldCard(it, reload) {
    var card = h('li', { class: 'card held state-' + it.state, 'data-id': it.id });
    var detail = h('div', { class: 'held-detail', hidden: true });
    var snippet = it.snippet ? h('p', { class: 'snippet' }, it.snippet) : h('span');
    var open = h('button', { type: 'button', class: 'view', 'aria-expanded': 'false', onclick: function () {
      if (!detail.hidden) { detail.hidden = true; snippet.hidden = false; open.setAttribute('aria-expanded', 'false'); return; }
      detail.hidden = false; snippet.hidden = true; open.setAttribute('aria-expanded', 'true');
      S.clear(detail).appendChild(h('p', { class: 'loading' }, t('loading')));
      S.api('GET', '/held/' + encodeURIComponent(it.id)).then(function (full) {
        S.clear(detail); S.append(detail, heldDetail(full, card, reload));
      }, function (err) { S.clear(detail).appendChild(problem(err)); });
    } }, t('adm.held.open'));
    S.append(card, [
      h('div', { class: 'row head' }, pill(t('adm.held.kind.' + it.kind), 'kind'), h('strong', { class: 'reason' }, reasonLabel(it.reason)),
        it.state !== 'held' ? pill(t('adm.held.state.' + it.state), 'state') : null,
        h('span', { class: 'muted when' }, S.when(it.at, 'short'))),
      h('dl', { class: 'facts' },
        fact(t('adm.held.sender'), it.sender || h('span', { class: 'muted' }, t('adm.held.no_sender'))),
        it.subject ? fact(t('adm.held.subject'), it.subject) : null,
        it.detail ? fact(t('adm.held.detail'), it.detail) : null,
        it.ref ? fact(t('adm.held.ticket'), S.link('tickets/' + encodeURIComponent(it.ref), '#' + it.ref)) : null,
        it.decided_by ? fact(t('adm.held.decided'), personName(it.decided_by) + ' · ' + S.when(it.decided_at, 'short')) : null),
      snippet, buttons(open), detail]);
    return card;
  }
  function heldDetail(it, card, reload) {
    var out = [h('pre', { class: 'held-body' }, it.body || it.text || it.snippet || t('adm.held.no_text'))];
    if ((it.attachments || []).length) {
      out.push(h('p', { class: 'meta' }, h('strong', null, t('adm.held.attachments')), ' ',
        it.attachments.map(function (a) { return a.filename || a.name || String(a); }).join(', ')));
    }
    if (it.state !== 'held') return out;
    if (it.releasable === false) out.push(h('p', { class: 'muted' }, t('adm.held.not_releasable')));
    else {
      var guess = it.sender && it.sender.indexOf('@') > 0 ? 'email' : (it.sender ? 'phone' : 'ticket');
      var form = h('form', { class: 'release' },
        h('div', { class: 'row' },
          field(t('adm.held.release_to'), select('to', [['ticket', t('adm.held.to.ticket')], ['email', t('adm.held.to.email')], ['phone', t('adm.held.to.phone')]], guess)),
          field(t('adm.held.target'), input('target', guess === 'ticket' ? '' : it.sender, { maxlength: 320, placeholder: t('adm.held.target_hint') })),
          field(t('adm.held.name'), input('name', it.name, { maxlength: 100 }))),
        buttons(h('button', { type: 'submit', class: 'primary release' }, t('adm.held.release'))));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var to = val(form, 'to'), target = val(form, 'target').replace(/^#/, '');
        if (!target) { S.clear(errorSlot(form)).appendChild(h('p', { class: 'error', role: 'alert' }, t('adm.held.need_target'))); return; }
        var body = {}; body[to] = target;
        if (to !== 'ticket' && val(form, 'name')) body.name = val(form, 'name');
        write(form, function () { return S.api('POST', '/held/' + encodeURIComponent(it.id) + '/release', body); },
          function (r) { return t('adm.held.released', { ref: r && r.ref ? '#' + r.ref : '' }); }, reload);
      });
      out.push(form);
    }
    var discardBox = h('div', { class: 'row actions' });
    discardBox.appendChild(confirmButton('danger discard', t('adm.held.discard'), t('adm.held.discard_q'), t('adm.held.discard'), function () {
      write(discardBox, function () { return S.api('POST', '/held/' + encodeURIComponent(it.id) + '/discard'); }, t('adm.held.discarded'), reload);
    }));
    out.push(discardBox);
    return out;
  }

  // ---- departments ----------------------------------------------------------------------
  function departmentsPage() {
    return page('departments', 'nav.departments', function (reload) {
      return Promise.all([S.loadDepartments(), S.api('GET', '/calendars'), S.api('GET', '/sla-policies')]).then(function (r) {
        var depts = r[0].slice().sort(function (a, b) { return (a.order || 0) - (b.order || 0) || a.name.localeCompare(b.name); });
        var calendars = (r[1].items || []).map(function (c) { return c.name; });
        var policies = (r[2].items || []).map(function (p) { return p.name; });
        var admin = S.isAdmin();
        return [
          admin ? h('details', { class: 'card add' }, h('summary', null, t('adm.dep.add_title')), departmentEditor(null, calendars, policies, reload)) : null,
          h('ul', { class: 'cards department-list' }, depts.map(function (d) { return departmentCard(d, calendars, policies, admin, reload); }))];
      });
    });
  }
  function departmentCard(d, calendars, policies, admin, reload) {
    var card = h('li', { class: 'card department' + (d.active === false ? ' inactive' : ''), 'data-name': d.name });
    var edit = admin ? toggler('edit', t('adm.edit'), function (close) { return departmentEditor(d, calendars, policies, reload, close); }) : null;
    S.append(card, [
      h('div', { class: 'row head' }, h('h2', { class: 'name' }, S.departmentLabel(d.name)), h('code', null, d.name),
        d.builtin ? pill(t('adm.builtin'), 'builtin') : null,
        d.active === false ? pill(t('adm.inactive'), 'inactive') : null),
      h('dl', { class: 'facts' },
        fact(t('adm.dep.label_bn'), h('span', { lang: 'bn' }, (d.labels || {}).bn)),
        fact(t('adm.dep.label_en'), h('span', { lang: 'en' }, (d.labels || {}).en)),
        fact(t('adm.dep.address'), d.effective_address || d.address),
        fact(t('adm.dep.form'), d.form ? t('adm.dep.form_yes', { n: d.order || 0 }) : t('adm.dep.form_no')),
        fact(t('adm.dep.calendar'), d.calendar || t('adm.dep.default_calendar')),
        fact(t('adm.dep.policy'), d.default_policy || t('adm.dep.default_policy')),
        (d.links || []).length ? fact(t('adm.dep.links'), d.links.map(function (l) { return (l.label || {})[S.lang] || (l.label || {}).en; }).join(', ')) : null),
      admin ? buttons(edit.button, d.active !== false && d.name !== 'general'
        ? confirmButton('danger deactivate', t('adm.dep.remove'), t('adm.dep.remove_q'), t('adm.dep.remove'), function () {
          write(card, function () { return S.api('DELETE', '/departments/' + encodeURIComponent(d.name)); },
            function (r) { return r && r.deleted ? t('adm.dep.deleted') : t('adm.dep.deactivated'); }, reload);
        }) : null) : null,
      edit ? edit.holder : null]);
    return card;
  }
  function departmentEditor(d, calendars, policies, reload, close) {
    var isNew = !d;
    d = d || { labels: {}, form: true, order: 100, active: true, links: [] };
    var form = h('form', { class: 'department-edit' },
      isNew ? field(t('adm.dep.name'), input('name', '', { required: true, maxlength: 32, pattern: '[a-z0-9]([a-z0-9\\-]{0,30}[a-z0-9])?' }), t('adm.dep.name_hint')) : null,
      h('div', { class: 'two' },
        field(t('adm.dep.label_bn'), input('label_bn', d.labels.bn, { required: true, maxlength: 100, lang: 'bn' })),
        field(t('adm.dep.label_en'), input('label_en', d.labels.en, { required: true, maxlength: 100, lang: 'en' }))),
      field(t('adm.dep.address'), input('address', d.address, { type: 'email', maxlength: 254, placeholder: d.effective_address || '' }), t('adm.dep.address_hint')),
      h('div', { class: 'row' },
        check('form', d.form !== false, t('adm.dep.form_long')),
        field(t('adm.dep.order'), input('order', d.order === undefined ? '' : d.order, { type: 'number', min: 0, max: 10000, step: 1 }))),
      h('div', { class: 'row' },
        field(t('adm.dep.calendar'), select('calendar', [['', t('adm.dep.default_calendar')]].concat(calendars.map(function (c) { return [c, c]; })), d.calendar)),
        field(t('adm.dep.policy'), select('default_policy', [['', t('adm.dep.default_policy')]].concat(policies.map(function (p) { return [p, p]; })), d.default_policy))),
      field(t('adm.dep.links'), textarea('links', JSON.stringify(d.links || [], null, 1), { rows: 3, spellcheck: 'false', class: 'code' }), t('adm.dep.links_hint')),
      isNew ? null : check('active', d.active !== false, t('adm.dep.active')),
      buttons(h('button', { type: 'submit', class: 'primary' }, isNew ? t('adm.dep.create') : t('save')),
        close ? h('button', { type: 'button', onclick: close }, t('cancel')) : null));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = isNew ? val(form, 'name') : d.name;
      var body = { labels: { bn: val(form, 'label_bn'), en: val(form, 'label_en') }, address: nullIfEmpty(val(form, 'address')),
        form: isChecked(form, 'form'), calendar: nullIfEmpty(val(form, 'calendar')), default_policy: nullIfEmpty(val(form, 'default_policy')) };
      if (val(form, 'order') !== '') body.order = parseInt(val(form, 'order'), 10);
      if (!isNew) body.active = isChecked(form, 'active');
      try { body.links = JSON.parse(val(form, 'links') || '[]'); } catch (err) {
        S.clear(errorSlot(form)).appendChild(h('p', { class: 'error', role: 'alert' }, t('adm.dep.bad_links')));
        return;
      }
      write(form, function () { return S.api('PUT', '/departments/' + encodeURIComponent(name), body); },
        t('adm.dep.saved', { name: body.labels[S.lang] || name }), function () { return S.loadDepartments().then(reload, reload); });
    });
    return form;
  }

  // ---- pages ----------------------------------------------------------------------------
  S.page('decisions', { nav: 20, title: 'nav.decisions', roles: LEADS, render: decisionsPage });
  S.page('agents', { nav: 40, title: 'nav.agents', roles: LEADS, render: agentsPage });
  S.page('macros', { nav: 50, title: 'nav.macros', roles: LEADS, render: macrosPage });
  S.page('policies', { nav: 60, title: 'nav.policies', roles: LEADS, render: policiesPage });
  S.page('held', { nav: 70, title: 'nav.held', roles: ADMINS, render: heldPage });
  S.page('departments', { nav: 80, title: 'nav.departments', roles: ADMINS, render: departmentsPage });

  S.strings({
    en: {
      'nav.decisions': 'Decisions', 'nav.agents': 'Agents', 'nav.macros': 'Macros', 'nav.policies': 'SLA & hours',
      'nav.held': 'Held', 'nav.departments': 'Departments',
      'adm.forbidden': 'Your role cannot open this. Ask an admin if you need it.', 'adm.not_allowed': 'You may not do this.',
      'adm.stale': 'Someone changed this meanwhile. The page now shows the latest; check it and save again.',
      'adm.edit': 'Edit', 'adm.saved': 'Saved.', 'adm.inactive': 'Inactive', 'adm.builtin': 'Built in',
      'adm.departments': 'Departments', 'adm.lang.none': 'Not set', 'adm.none': 'None',
      'adm.dur.bd': '{n} business days', 'adm.dur.bd1': '{n} business day', 'adm.dur.s': '{n} s',
      // decisions
      'adm.dec.none': 'No decisions are waiting.', 'adm.dec.count': '{n} waiting',
      'adm.dec.asked': 'Asked by {who}, {when}.', 'adm.dec.approver': 'asked of {who}', 'adm.dec.reminders': '{n} reminders sent',
      'adm.dec.comment': 'Comment for the team', 'adm.dec.comment_hint': 'Internal: shown on the timeline.',
      'adm.dec.message': 'Message for the customer', 'adm.dec.message_hint': 'Optional: added to the notice the customer gets.',
      'adm.dec.approve': 'Approve', 'adm.dec.reject': 'Reject',
      'adm.dec.approved': '{ref}: approved. The customer is being told.', 'adm.dec.rejected': '{ref}: rejected. The customer is being told.',
      // agents
      'adm.ag.count': '{n} active of {all}', 'adm.ag.filter': 'Find by name, email or department', 'adm.ag.read_only': 'Only admins can change agents.',
      'adm.ag.add_title': 'Add an agent', 'adm.ag.add': 'Add agent', 'adm.ag.added': 'Agent added.',
      'adm.ag.added_invited': 'Agent added and invited to the console.', 'adm.ag.invite_now': 'Invite to the console now (needs an email)',
      'adm.ag.invite_failed': 'The agent was added, but the invitation failed:',
      'adm.ag.principal': 'IAM principal (ARN)', 'adm.ag.principal_hint': 'Optional. Needed only for API access with AWS credentials; a person who only uses the console needs just an email.',
      'adm.ag.access': 'Access', 'adm.ag.console_only': 'Console only (no AWS credentials)', 'adm.ag.display_name': 'Name', 'adm.ag.email': 'Email', 'adm.ag.role': 'Role', 'adm.ag.lang': 'Language',
      'adm.ag.short_name': 'Short name', 'adm.ag.all_departments': 'All departments', 'adm.ag.console': 'Console sign-in',
      'adm.ag.not_invited': 'Not invited yet', 'adm.ag.away': 'Away', 'adm.ag.away_long': 'Away (gets no new tickets by round robin)',
      'adm.ag.invite': 'Invite to the console', 'adm.ag.invite_again': 'Send the invitation again',
      'adm.ag.invitation.sent': 'Invitation sent to {email}.', 'adm.ag.invitation.resent': 'Invitation sent again to {email}.',
      'adm.ag.invitation.linked': '{email} already had a console sign-in; it is now linked to this agent.',
      'adm.ag.deactivate': 'Deactivate', 'adm.ag.deactivate_q': 'Deactivate this agent? They can no longer sign in.',
      'adm.ag.deactivated': 'Agent deactivated.', 'adm.ag.reactivate': 'Reactivate', 'adm.ag.reactivated': 'Agent reactivated.',
      // macros
      'adm.mac.current': 'In use', 'adm.mac.filter': 'Find by name, title or text', 'adm.mac.archived': 'Archived', 'adm.mac.archived_one': 'Archived',
      'adm.mac.none': 'No macros yet.', 'adm.mac.none_archived': 'No archived macros.',
      'adm.mac.add_title': 'New macro', 'adm.mac.create': 'Create macro', 'adm.mac.version': 'v{n}', 'adm.mac.latest': 'latest',
      'adm.mac.versions': 'Versions ({n})', 'adm.mac.see_version': 'Show version', 'adm.mac.updated': 'Saved {when} by {who}',
      'adm.mac.then': 'Also sets:', 'adm.mac.archive': 'Archive', 'adm.mac.archive_q': 'Archive this macro? Its versions are kept.',
      'adm.mac.archived_ok': 'Macro archived.', 'adm.mac.saved': 'Macro {name} saved (version {n}).',
      'adm.mac.name': 'Name', 'adm.mac.name_hint': 'Letters, digits, - and _; it cannot be changed later.',
      'adm.mac.title': 'Title', 'adm.mac.channels': 'Channels',
      'adm.mac.subject_bn': 'Email subject (Bengali)', 'adm.mac.subject_en': 'Email subject (English)',
      'adm.mac.body_bn': 'Text (Bengali)', 'adm.mac.body_en': 'Text (English)',
      'adm.mac.template_hint': 'The customer gets the text in their language. Placeholders such as {{ customer.name }} and {{ ticket.ref }} are filled in (docs/macros.md).',
      'adm.mac.set_status': 'Set status', 'adm.mac.set_priority': 'Set priority', 'adm.mac.no_change': 'No change',
      'adm.mac.need_body': 'Write the text in Bengali, English or both.',
      // policies
      'adm.pol.policies': 'SLA policies', 'adm.pol.intro': 'A ticket takes the policy named after its department and priority (billing-urgent), its department, its priority, or else default. Fields a policy does not set come from default.',
      'adm.pol.add_title': 'New SLA policy', 'adm.pol.create': 'Create policy', 'adm.pol.name': 'Name',
      'adm.pol.name_hint': 'Letters, digits, - and _.', 'adm.pol.calendar': 'Business calendar', 'adm.pol.calendar_is': 'Calendar: {name}',
      'adm.pol.field': 'Timer', 'adm.pol.effective': 'In effect', 'adm.pol.source': 'From',
      'adm.pol.src.set': 'Set here', 'adm.pol.src.inherited': 'From default', 'adm.pol.src.unset': 'Not set', 'adm.pol.not_set': 'Not set (off): {list}.',
      'adm.pol.used_by': 'Used by:', 'adm.pol.unused': 'No department or priority uses it.', 'adm.pol.off': 'Off',
      'adm.pol.inherits': 'from default: {v}', 'adm.pol.saved': 'Policy {name} saved.', 'adm.pol.saved_warn': 'Policy {name} saved; see its warnings.',
      'adm.pol.iso_hint': 'ISO 8601 durations: PT30M = 30 minutes, PT4H = 4 hours, P2D = 2 business days; "off" switches a timer off; empty takes the default policy\'s.',
      'adm.pol.f.first_response': 'First response', 'adm.pol.f.next_reply': 'Next reply', 'adm.pol.f.resolution': 'Resolution',
      'adm.pol.f.warn_before': 'Warn before due', 'adm.pol.f.checkin_after': 'Check in after resolving', 'adm.pol.f.remind_after': 'Remind a silent customer after',
      'adm.pol.f.close_after': 'Close a silent ticket after', 'adm.pol.f.escalate_every': 'Escalate again every',
      'adm.pol.f.escalate_lead_after': 'Escalate to lead after', 'adm.pol.f.escalate_manager_after': 'Escalate to manager after',
      'adm.pol.f.decide_within': 'Decide within', 'adm.pol.f.decision_remind_every': 'Remind approvers every',
      // calendars
      'adm.cal.calendars': 'Business calendars', 'adm.cal.add_title': 'New calendar', 'adm.cal.create': 'Create calendar', 'adm.cal.name': 'Name',
      'adm.cal.always_open': 'Open around the clock, every day.', 'adm.cal.closed_day': 'Closed',
      'adm.cal.holidays': 'Public holidays:', 'adm.cal.holidays_of': 'closed on the public holidays of {country}', 'adm.cal.no_holidays': 'not counted',
      'adm.cal.closed': 'Closed days:', 'adm.cal.special': 'Special hours:', 'adm.cal.timezone': 'Time zone',
      'adm.cal.country': 'Holidays of country', 'adm.cal.country_hint': 'BD for Bangladesh; empty: no public holidays.',
      'adm.cal.hours': 'Opening hours', 'adm.cal.hours_hint': 'Like 09:30-18:00; several with commas (09:30-13:00, 14:00-18:00); empty: closed that day.',
      'adm.cal.closed_hint': 'One date a line (YYYY-MM-DD).', 'adm.cal.special_hint': 'A date and its hours a line: 2026-12-31 09:30-13:00.',
      'adm.cal.bad_hours': '{what}: "{text}" is not like 09:30-18:00.', 'adm.cal.bad_date': '"{text}" is not a date like 2026-12-16.',
      'adm.cal.bad_special': '"{text}" is not like 2026-12-31 09:30-13:00.', 'adm.cal.saved': 'Calendar {name} saved.',
      'adm.day.sun': 'Sunday', 'adm.day.mon': 'Monday', 'adm.day.tue': 'Tuesday', 'adm.day.wed': 'Wednesday',
      'adm.day.thu': 'Thursday', 'adm.day.fri': 'Friday', 'adm.day.sat': 'Saturday',
      // held
      'adm.held.waiting': 'Waiting', 'adm.held.closed': 'Released or discarded',
      'adm.held.intro': 'Messages Setu could not put on a ticket by itself. Release one to a ticket, or discard it.',
      'adm.held.none': 'Nothing is held.', 'adm.held.none_closed': 'Nothing released or discarded yet.',
      'adm.held.open': 'Open', 'adm.held.sender': 'From', 'adm.held.no_sender': 'No sender', 'adm.held.subject': 'Subject',
      'adm.held.detail': 'Detail', 'adm.held.ticket': 'Ticket', 'adm.held.decided': 'Handled by', 'adm.held.no_text': '(no text)',
      'adm.held.attachments': 'Attachments:', 'adm.held.not_releasable': 'This item cannot be released; it can only be discarded.',
      'adm.held.release_to': 'Release to', 'adm.held.to.ticket': 'An existing ticket', 'adm.held.to.email': 'A new ticket for an email',
      'adm.held.to.phone': 'A new ticket for a phone', 'adm.held.target': 'Ticket ref, email or phone', 'adm.held.target_hint': '#1042, name@example.com or +8801…',
      'adm.held.name': 'Customer name (new ticket)', 'adm.held.release': 'Release', 'adm.held.need_target': 'Say where it goes: a ticket, an email or a phone.',
      'adm.held.released': 'Released to {ref}.', 'adm.held.discard': 'Discard', 'adm.held.discard_q': 'Discard this item? The raw mail stays in storage.',
      'adm.held.discarded': 'Discarded.',
      'adm.held.kind.email': 'Email', 'adm.held.kind.sms': 'SMS', 'adm.held.kind.event': 'Event',
      'adm.held.state.held': 'Held', 'adm.held.state.released': 'Released', 'adm.held.state.discarded': 'Discarded',
      'adm.held.r.no_sender': 'No sender address', 'adm.held.r.unparseable': 'Could not be read', 'adm.held.r.too_large': 'Too large',
      'adm.held.r.spam': 'Marked as spam', 'adm.held.r.virus': 'Virus found', 'adm.held.r.raw_missing': 'Original mail missing',
      'adm.held.r.unmatched_bounce': 'Bounce for no known message', 'adm.held.r.unreadable_sms': 'Unreadable SMS',
      'adm.held.r.empty_message': 'Empty message', 'adm.held.r.unreadable_event': 'Unreadable event', 'adm.held.r.unauthenticated': 'Sender not verified',
      // departments
      'adm.dep.add_title': 'New department', 'adm.dep.create': 'Create department', 'adm.dep.name': 'Name',
      'adm.dep.name_hint': 'Lower-case letters, digits and -; used in addresses and policy names; cannot be changed.',
      'adm.dep.label_bn': 'Name in Bengali', 'adm.dep.label_en': 'Name in English', 'adm.dep.address': 'Email address',
      'adm.dep.address_hint': 'Empty: <name>@ the support domain.', 'adm.dep.form': 'Web form',
      'adm.dep.form_yes': 'Offered (order {n})', 'adm.dep.form_no': 'Not offered', 'adm.dep.form_long': 'Offer it on the web form',
      'adm.dep.order': 'Order on the form', 'adm.dep.calendar': 'Calendar', 'adm.dep.default_calendar': 'The policy\'s calendar',
      'adm.dep.policy': 'Default SLA policy', 'adm.dep.default_policy': 'By name (default)', 'adm.dep.links': 'Help links',
      'adm.dep.links_hint': 'JSON, e.g. [{"label": {"bn": "…", "en": "FAQ"}, "path": "/help/faq"}]', 'adm.dep.bad_links': 'The help links are not valid JSON.',
      'adm.dep.active': 'Active', 'adm.dep.remove': 'Remove', 'adm.dep.remove_q': 'Remove this department? One with tickets or agents is only deactivated.',
      'adm.dep.deleted': 'Department removed.', 'adm.dep.deactivated': 'Department deactivated (it is in use).', 'adm.dep.saved': 'Department {name} saved.'
    },
    bn: {
      'nav.decisions': 'সিদ্ধান্ত', 'nav.agents': 'এজেন্ট', 'nav.macros': 'ম্যাক্রো', 'nav.policies': 'SLA ও সময়সূচি',
      'nav.held': 'আটকে থাকা', 'nav.departments': 'বিভাগ',
      'adm.forbidden': 'আপনার ভূমিকায় এটি খোলা যায় না। দরকার হলে অ্যাডমিনকে বলুন।', 'adm.not_allowed': 'এটি করার অনুমতি আপনার নেই।',
      'adm.stale': 'এর মধ্যে অন্য কেউ এটি বদলেছেন। পাতায় এখন সর্বশেষটি দেখাচ্ছে; দেখে নিয়ে আবার সংরক্ষণ করুন।',
      'adm.edit': 'সম্পাদনা', 'adm.saved': 'সংরক্ষণ হয়েছে।', 'adm.inactive': 'নিষ্ক্রিয়', 'adm.builtin': 'বিল্ট-ইন',
      'adm.departments': 'বিভাগ', 'adm.lang.none': 'ঠিক করা নেই', 'adm.none': 'নেই',
      'adm.dur.bd': '{n} কর্মদিবস', 'adm.dur.bd1': '{n} কর্মদিবস', 'adm.dur.s': '{n} সেকেন্ড',
      'adm.dec.none': 'কোনো সিদ্ধান্ত অপেক্ষায় নেই।', 'adm.dec.count': '{n}টি অপেক্ষায়',
      'adm.dec.asked': '{who} জানতে চেয়েছেন, {when}।', 'adm.dec.approver': '{who}-এর কাছে', 'adm.dec.reminders': '{n}বার মনে করানো হয়েছে',
      'adm.dec.comment': 'টিমের জন্য মন্তব্য', 'adm.dec.comment_hint': 'অভ্যন্তরীণ: টাইমলাইনে দেখা যাবে।',
      'adm.dec.message': 'গ্রাহকের জন্য বার্তা', 'adm.dec.message_hint': 'ঐচ্ছিক: গ্রাহককে পাঠানো জানানোর সঙ্গে যোগ হবে।',
      'adm.dec.approve': 'অনুমোদন', 'adm.dec.reject': 'নামঞ্জুর',
      'adm.dec.approved': '{ref}: অনুমোদন করা হয়েছে। গ্রাহককে জানানো হচ্ছে।', 'adm.dec.rejected': '{ref}: নামঞ্জুর করা হয়েছে। গ্রাহককে জানানো হচ্ছে।',
      'adm.ag.count': '{all} জনের মধ্যে {n} জন সক্রিয়', 'adm.ag.filter': 'নাম, ইমেইল বা বিভাগ দিয়ে খুঁজুন', 'adm.ag.read_only': 'শুধু অ্যাডমিনরা এজেন্টদের তথ্য বদলাতে পারেন।',
      'adm.ag.add_title': 'নতুন এজেন্ট যোগ করুন', 'adm.ag.add': 'এজেন্ট যোগ করুন', 'adm.ag.added': 'এজেন্ট যোগ হয়েছে।',
      'adm.ag.added_invited': 'এজেন্ট যোগ হয়েছে, কনসোলের আমন্ত্রণও গেছে।', 'adm.ag.invite_now': 'এখনই কনসোলে আমন্ত্রণ পাঠান (ইমেইল লাগবে)',
      'adm.ag.invite_failed': 'এজেন্ট যোগ হয়েছে, কিন্তু আমন্ত্রণ পাঠানো যায়নি:',
      'adm.ag.principal': 'IAM প্রিন্সিপাল (ARN)', 'adm.ag.principal_hint': 'ঐচ্ছিক। শুধু AWS ক্রেডেনশিয়াল দিয়ে API ব্যবহারের জন্য লাগে; যিনি শুধু কনসোল ব্যবহার করবেন, তাঁর ইমেইলই যথেষ্ট।',
      'adm.ag.access': 'প্রবেশাধিকার', 'adm.ag.console_only': 'শুধু কনসোল (AWS ক্রেডেনশিয়াল নেই)', 'adm.ag.display_name': 'নাম', 'adm.ag.email': 'ইমেইল', 'adm.ag.role': 'ভূমিকা', 'adm.ag.lang': 'ভাষা',
      'adm.ag.short_name': 'সংক্ষিপ্ত নাম', 'adm.ag.all_departments': 'সব বিভাগ', 'adm.ag.console': 'কনসোলে সাইন ইন',
      'adm.ag.not_invited': 'এখনো আমন্ত্রণ পাঠানো হয়নি', 'adm.ag.away': 'ছুটিতে', 'adm.ag.away_long': 'ছুটিতে (রাউন্ড-রবিনে নতুন টিকিট পাবেন না)',
      'adm.ag.invite': 'কনসোলে আমন্ত্রণ পাঠান', 'adm.ag.invite_again': 'আমন্ত্রণ আবার পাঠান',
      'adm.ag.invitation.sent': '{email}-এ আমন্ত্রণ পাঠানো হয়েছে।', 'adm.ag.invitation.resent': '{email}-এ আবার আমন্ত্রণ পাঠানো হয়েছে।',
      'adm.ag.invitation.linked': '{email}-এর আগে থেকেই কনসোল অ্যাকাউন্ট ছিল; এখন সেটি এই এজেন্টের সঙ্গে যুক্ত।',
      'adm.ag.deactivate': 'নিষ্ক্রিয় করুন', 'adm.ag.deactivate_q': 'এই এজেন্টকে নিষ্ক্রিয় করবেন? তিনি আর সাইন ইন করতে পারবেন না।',
      'adm.ag.deactivated': 'এজেন্ট নিষ্ক্রিয় করা হয়েছে।', 'adm.ag.reactivate': 'আবার সক্রিয় করুন', 'adm.ag.reactivated': 'এজেন্ট আবার সক্রিয় হয়েছেন।',
      'adm.mac.current': 'চালু', 'adm.mac.filter': 'নাম, শিরোনাম বা লেখা দিয়ে খুঁজুন', 'adm.mac.archived': 'আর্কাইভ করা', 'adm.mac.archived_one': 'আর্কাইভ করা',
      'adm.mac.none': 'এখনো কোনো ম্যাক্রো নেই।', 'adm.mac.none_archived': 'আর্কাইভ করা কোনো ম্যাক্রো নেই।',
      'adm.mac.add_title': 'নতুন ম্যাক্রো', 'adm.mac.create': 'ম্যাক্রো তৈরি করুন', 'adm.mac.version': 'সংস্করণ {n}', 'adm.mac.latest': 'সর্বশেষ',
      'adm.mac.versions': 'সংস্করণগুলো ({n})', 'adm.mac.see_version': 'সংস্করণ দেখুন', 'adm.mac.updated': '{when}-এ {who} সংরক্ষণ করেছেন',
      'adm.mac.then': 'সঙ্গে বদলায়:', 'adm.mac.archive': 'আর্কাইভ করুন', 'adm.mac.archive_q': 'ম্যাক্রোটি আর্কাইভ করবেন? পুরোনো সংস্করণগুলো থেকে যাবে।',
      'adm.mac.archived_ok': 'ম্যাক্রো আর্কাইভ করা হয়েছে।', 'adm.mac.saved': 'ম্যাক্রো {name} সংরক্ষণ হয়েছে (সংস্করণ {n})।',
      'adm.mac.name': 'নাম (ইংরেজিতে)', 'adm.mac.name_hint': 'ইংরেজি অক্ষর, সংখ্যা, - ও _; পরে বদলানো যাবে না।',
      'adm.mac.title': 'শিরোনাম', 'adm.mac.channels': 'মাধ্যম',
      'adm.mac.subject_bn': 'ইমেইলের বিষয় (বাংলা)', 'adm.mac.subject_en': 'ইমেইলের বিষয় (ইংরেজি)',
      'adm.mac.body_bn': 'লেখা (বাংলা)', 'adm.mac.body_en': 'লেখা (ইংরেজি)',
      'adm.mac.template_hint': 'গ্রাহক তাঁর ভাষায় লেখাটি পাবেন। {{ customer.name }}, {{ ticket.ref }}-এর মতো জায়গাগুলো নিজে থেকে ভরে যায় (docs/macros.md)।',
      'adm.mac.set_status': 'অবস্থা বদলাবে', 'adm.mac.set_priority': 'অগ্রাধিকার বদলাবে', 'adm.mac.no_change': 'বদলাবে না',
      'adm.mac.need_body': 'বাংলা, ইংরেজি বা দুই ভাষাতেই লেখাটি দিন।',
      'adm.pol.policies': 'SLA নীতি', 'adm.pol.intro': 'টিকিট প্রথমে তার বিভাগ ও অগ্রাধিকারের নামের নীতি (যেমন billing-urgent) নেয়, না থাকলে বিভাগের, তারপর অগ্রাধিকারের, শেষে default। কোনো নীতিতে যা ঠিক করা নেই, তা default থেকে আসে।',
      'adm.pol.add_title': 'নতুন SLA নীতি', 'adm.pol.create': 'নীতি তৈরি করুন', 'adm.pol.name': 'নাম (ইংরেজিতে)',
      'adm.pol.name_hint': 'ইংরেজি অক্ষর, সংখ্যা, - ও _।', 'adm.pol.calendar': 'কর্মসময়ের ক্যালেন্ডার', 'adm.pol.calendar_is': 'ক্যালেন্ডার: {name}',
      'adm.pol.field': 'সময়সীমা', 'adm.pol.effective': 'কার্যকর', 'adm.pol.source': 'কোথা থেকে',
      'adm.pol.src.set': 'এখানে ঠিক করা', 'adm.pol.src.inherited': 'default থেকে', 'adm.pol.src.unset': 'ঠিক করা নেই', 'adm.pol.not_set': 'ঠিক করা নেই (বন্ধ): {list}।',
      'adm.pol.used_by': 'যেখানে চলে:', 'adm.pol.unused': 'কোনো বিভাগ বা অগ্রাধিকারে এটি চলে না।', 'adm.pol.off': 'বন্ধ',
      'adm.pol.inherits': 'default থেকে: {v}', 'adm.pol.saved': 'নীতি {name} সংরক্ষণ হয়েছে।', 'adm.pol.saved_warn': 'নীতি {name} সংরক্ষণ হয়েছে; সতর্কবার্তাগুলো দেখুন।',
      'adm.pol.iso_hint': 'ISO 8601 সময়কাল: PT30M = ৩০ মিনিট, PT4H = ৪ ঘণ্টা, P2D = ২ কর্মদিবস; "off" লিখলে সময়সীমাটি বন্ধ; খালি রাখলে default নীতির মান।',
      'adm.pol.f.first_response': 'প্রথম উত্তর', 'adm.pol.f.next_reply': 'পরের উত্তর', 'adm.pol.f.resolution': 'সমাধান',
      'adm.pol.f.warn_before': 'সময়সীমার আগে সতর্ক', 'adm.pol.f.checkin_after': 'সমাধানের পর খোঁজ নেওয়া', 'adm.pol.f.remind_after': 'গ্রাহক চুপ থাকলে মনে করানো',
      'adm.pol.f.close_after': 'চুপ থাকা টিকিট বন্ধ', 'adm.pol.f.escalate_every': 'আবার এসকেলেট করা, প্রতি',
      'adm.pol.f.escalate_lead_after': 'লিডের কাছে এসকেলেট', 'adm.pol.f.escalate_manager_after': 'ম্যানেজারের কাছে এসকেলেট',
      'adm.pol.f.decide_within': 'সিদ্ধান্তের সময়সীমা', 'adm.pol.f.decision_remind_every': 'অনুমোদনকারীকে মনে করানো, প্রতি',
      'adm.cal.calendars': 'কর্মসময়ের ক্যালেন্ডার', 'adm.cal.add_title': 'নতুন ক্যালেন্ডার', 'adm.cal.create': 'ক্যালেন্ডার তৈরি করুন', 'adm.cal.name': 'নাম (ইংরেজিতে)',
      'adm.cal.always_open': 'প্রতিদিন ২৪ ঘণ্টা খোলা।', 'adm.cal.closed_day': 'বন্ধ',
      'adm.cal.holidays': 'সরকারি ছুটি:', 'adm.cal.holidays_of': '{country}-এর সরকারি ছুটিতে বন্ধ', 'adm.cal.no_holidays': 'ধরা হয় না',
      'adm.cal.closed': 'বন্ধের দিন:', 'adm.cal.special': 'বিশেষ সময়:', 'adm.cal.timezone': 'টাইম জোন',
      'adm.cal.country': 'কোন দেশের ছুটি', 'adm.cal.country_hint': 'বাংলাদেশের জন্য BD; খালি রাখলে সরকারি ছুটি ধরা হবে না।',
      'adm.cal.hours': 'খোলার সময়', 'adm.cal.hours_hint': 'যেমন 09:30-18:00; একাধিক হলে কমা দিয়ে (09:30-13:00, 14:00-18:00); খালি রাখলে সেদিন বন্ধ।',
      'adm.cal.closed_hint': 'প্রতি লাইনে একটি তারিখ (YYYY-MM-DD)।', 'adm.cal.special_hint': 'প্রতি লাইনে তারিখ ও সময়: 2026-12-31 09:30-13:00।',
      'adm.cal.bad_hours': '{what}: "{text}" ঠিক 09:30-18:00-এর মতো নয়।', 'adm.cal.bad_date': '"{text}" 2026-12-16-এর মতো তারিখ নয়।',
      'adm.cal.bad_special': '"{text}" ঠিক 2026-12-31 09:30-13:00-এর মতো নয়।', 'adm.cal.saved': 'ক্যালেন্ডার {name} সংরক্ষণ হয়েছে।',
      'adm.day.sun': 'রবিবার', 'adm.day.mon': 'সোমবার', 'adm.day.tue': 'মঙ্গলবার', 'adm.day.wed': 'বুধবার',
      'adm.day.thu': 'বৃহস্পতিবার', 'adm.day.fri': 'শুক্রবার', 'adm.day.sat': 'শনিবার',
      'adm.held.waiting': 'অপেক্ষায়', 'adm.held.closed': 'ছাড়া বা বাতিল করা',
      'adm.held.intro': 'যে বার্তাগুলো সেতু নিজে কোনো টিকিটে তুলতে পারেনি। কোনো টিকিটে ছেড়ে দিন, অথবা বাতিল করুন।',
      'adm.held.none': 'কিছুই আটকে নেই।', 'adm.held.none_closed': 'এখনো কিছু ছাড়া বা বাতিল করা হয়নি।',
      'adm.held.open': 'খুলুন', 'adm.held.sender': 'প্রেরক', 'adm.held.no_sender': 'প্রেরক নেই', 'adm.held.subject': 'বিষয়',
      'adm.held.detail': 'বিস্তারিত', 'adm.held.ticket': 'টিকিট', 'adm.held.decided': 'যিনি দেখেছেন', 'adm.held.no_text': '(লেখা নেই)',
      'adm.held.attachments': 'সংযুক্তি:', 'adm.held.not_releasable': 'এটি কোনো টিকিটে ছাড়া যাবে না; শুধু বাতিল করা যাবে।',
      'adm.held.release_to': 'কোথায় ছাড়বেন', 'adm.held.to.ticket': 'চলতি কোনো টিকিটে', 'adm.held.to.email': 'ইমেইলের জন্য নতুন টিকিট',
      'adm.held.to.phone': 'ফোন নম্বরের জন্য নতুন টিকিট', 'adm.held.target': 'টিকিট নম্বর, ইমেইল বা ফোন', 'adm.held.target_hint': '#1042, name@example.com বা +8801…',
      'adm.held.name': 'গ্রাহকের নাম (নতুন টিকিট)', 'adm.held.release': 'ছেড়ে দিন', 'adm.held.need_target': 'কোথায় যাবে লিখুন: টিকিট, ইমেইল বা ফোন।',
      'adm.held.released': '{ref} টিকিটে ছেড়ে দেওয়া হয়েছে।', 'adm.held.discard': 'বাতিল করুন', 'adm.held.discard_q': 'এটি বাতিল করবেন? মূল মেইলটি স্টোরেজে থেকে যাবে।',
      'adm.held.discarded': 'বাতিল করা হয়েছে।',
      'adm.held.kind.email': 'ইমেইল', 'adm.held.kind.sms': 'এসএমএস', 'adm.held.kind.event': 'ইভেন্ট',
      'adm.held.state.held': 'আটকে আছে', 'adm.held.state.released': 'ছাড়া হয়েছে', 'adm.held.state.discarded': 'বাতিল',
      'adm.held.r.no_sender': 'প্রেরকের ঠিকানা নেই', 'adm.held.r.unparseable': 'পড়া যায়নি', 'adm.held.r.too_large': 'খুব বড়',
      'adm.held.r.spam': 'স্প্যাম চিহ্নিত', 'adm.held.r.virus': 'ভাইরাস পাওয়া গেছে', 'adm.held.r.raw_missing': 'মূল মেইল পাওয়া যাচ্ছে না',
      'adm.held.r.unmatched_bounce': 'অচেনা বার্তার বাউন্স', 'adm.held.r.unreadable_sms': 'পড়া যায় না এমন এসএমএস',
      'adm.held.r.empty_message': 'খালি বার্তা', 'adm.held.r.unreadable_event': 'পড়া যায় না এমন ইভেন্ট', 'adm.held.r.unauthenticated': 'প্রেরক যাচাই হয়নি',
      'adm.dep.add_title': 'নতুন বিভাগ', 'adm.dep.create': 'বিভাগ তৈরি করুন', 'adm.dep.name': 'নাম (ইংরেজিতে)',
      'adm.dep.name_hint': 'ছোট হাতের ইংরেজি অক্ষর, সংখ্যা ও -; ঠিকানা ও নীতির নামে লাগে; পরে বদলানো যাবে না।',
      'adm.dep.label_bn': 'বাংলায় নাম', 'adm.dep.label_en': 'ইংরেজিতে নাম', 'adm.dep.address': 'ইমেইল ঠিকানা',
      'adm.dep.address_hint': 'খালি রাখলে: <নাম>@ সাপোর্ট ডোমেইন।', 'adm.dep.form': 'ওয়েব ফর্ম',
      'adm.dep.form_yes': 'দেখানো হয় (ক্রম {n})', 'adm.dep.form_no': 'দেখানো হয় না', 'adm.dep.form_long': 'ওয়েব ফর্মে দেখান',
      'adm.dep.order': 'ফর্মে ক্রম', 'adm.dep.calendar': 'ক্যালেন্ডার', 'adm.dep.default_calendar': 'নীতির ক্যালেন্ডার',
      'adm.dep.policy': 'ডিফল্ট SLA নীতি', 'adm.dep.default_policy': 'নাম অনুযায়ী (default)', 'adm.dep.links': 'সহায়তা লিংক',
      'adm.dep.links_hint': 'JSON, যেমন [{"label": {"bn": "সাধারণ জিজ্ঞাসা", "en": "FAQ"}, "path": "/help/faq"}]', 'adm.dep.bad_links': 'সহায়তা লিংকগুলো সঠিক JSON নয়।',
      'adm.dep.active': 'সক্রিয়', 'adm.dep.remove': 'সরিয়ে দিন', 'adm.dep.remove_q': 'বিভাগটি সরাবেন? টিকিট বা এজেন্ট থাকলে শুধু নিষ্ক্রিয় হবে।',
      'adm.dep.deleted': 'বিভাগ সরানো হয়েছে।', 'adm.dep.deactivated': 'বিভাগটি ব্যবহার হচ্ছে, তাই নিষ্ক্রিয় করা হয়েছে।', 'adm.dep.saved': 'বিভাগ {name} সংরক্ষণ হয়েছে।'
    }
  });
})();
