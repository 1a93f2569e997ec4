/* The queue (the console's first screen): views (mine, unassigned, due soon, breached,
 * pending, waiting decisions, everything open), a department filter, search by ref, email,
 * phone or words; refreshes itself every 30 seconds. One GET /console/api/tickets per view.
 * Contract: each ticket's ref is shown as the text #<ref>, a link to the ticket. */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;
  var OPEN = 'new,open,pending';
  var VIEWS = [
    { name: 'mine', query: { assignee: 'me', status: OPEN } },
    { name: 'unassigned', query: { assignee: 'none', status: 'new,open' } },
    { name: 'due', query: { due_within: 'PT1H', status: 'new,open' } },
    { name: 'breached', query: { sla: 'breached', status: OPEN } },
    { name: 'pending', query: { status: 'pending' } },
    { name: 'decisions', query: { has_decision: 'true' } },
    { name: 'open', query: { status: OPEN } },
    { name: 'done', query: { status: 'resolved,closed' } }
  ];
  var REFRESH_MS = 30000;

  function viewNamed(name) { return VIEWS.filter(function (v) { return v.name === name; })[0] || VIEWS[0]; }

  function row(ticket) {
    var sla = ticket.sla || {};
    var breached = (sla.breached || []).length > 0;
    return h('tr', { class: 'ticket status-' + ticket.status, 'data-ref': ticket.ref },
      h('td', { class: 'ref' }, S.link('tickets/' + encodeURIComponent(ticket.ref), '#' + ticket.ref)),
      h('td', { class: 'subject' },
        S.link('tickets/' + encodeURIComponent(ticket.ref), ticket.subject || t('queue.no_subject'), { class: 'subject-link', tabindex: '-1' }),
        h('span', { class: 'customer' }, ticket.customer_name || '')),
      h('td', null, h('span', { class: 'pill status ' + ticket.status }, S.label('status', ticket.status)),
        ticket.priority !== 'normal' ? h('span', { class: 'pill priority ' + ticket.priority }, S.label('priority', ticket.priority)) : null),
      h('td', { class: 'dept' }, S.departmentLabel(ticket.department)),
      h('td', { class: 'channel' }, S.label('channel', ticket.channel)),
      h('td', { class: 'assignee' }, ticket.assignee_name || shortAssignee(ticket.assignee) || h('span', { class: 'muted' }, t('queue.nobody'))),
      h('td', { class: 'sla' }, ticket.status === 'pending' || ticket.status === 'resolved' || ticket.status === 'closed'
        ? null : S.dueBadge(ticket.next_due, breached)),
      h('td', { class: 'when', title: S.when(ticket.last_activity_at) }, S.when(ticket.last_activity_at, 'short')));
  }
  /* An agent sees only their departments' tickets (the API answers 403 for another): the
   * filter offers those. Leads, admins and agents of every department: all of them. */
  function mayFilter(name) {
    var mine = S.me && S.me.role === 'agent' ? (S.me.departments || []) : [];
    return !mine.length || mine.indexOf(name) >= 0;
  }
  function shortAssignee(assignee) {
    if (!assignee) return '';
    var agents = S.agentCards || [];
    var found = agents.filter(function (a) { return a.principal === assignee || a.id === assignee; })[0];
    if (found) return found.display_name || found.name || found.short_name;
    return String(assignee).split('/').pop();
  }

  function render(params, query) {
    var view = viewNamed(query.view || (S.me.role === 'agent' ? 'mine' : 'unassigned'));
    var state = { q: query.q || '', department: query.department || '', cursor: null };
    var tbody = h('tbody');
    var status = h('p', { class: 'muted count', role: 'status' });
    var more = h('button', { type: 'button', class: 'more', hidden: true, onclick: function () { load(true); } }, t('queue.more'));
    var table = h('table', { class: 'queue' },
      h('thead', null, h('tr', null, ['queue.ref', 'queue.subject', 'queue.status', 'queue.department',
        'queue.channel', 'queue.assignee', 'queue.sla', 'queue.activity'].map(function (k) { return h('th', { scope: 'col' }, t(k)); }))),
      tbody);

    function params(extra) {
      var q = Object.assign({}, view.query, extra || {});
      if (state.q) { q = { q: state.q }; }
      if (state.department) q.department = state.department;
      q.limit = 50;
      return q;
    }
    function load(append) {
      var q = params(append && state.cursor ? { cursor: state.cursor } : null);
      return S.api('GET', '/tickets' + S.query(q)).then(function (page) {
        if (!append) S.clear(tbody);
        (page.items || []).forEach(function (ticket) { tbody.appendChild(row(ticket)); });
        state.cursor = page.next || null;
        more.hidden = !state.cursor;
        var n = tbody.children.length;
        status.textContent = n ? t(n === 1 ? 'queue.count_one' : 'queue.count', { n: n })
          : (state.q ? t('queue.none_found') : t('queue.empty.' + view.name));
        table.hidden = n === 0;
      }, function (err) {
        if (err && err.status === 401) return;
        status.textContent = S.errorText(err);
      });
    }

    var tabs = h('nav', { class: 'tabs', 'aria-label': t('queue.views') }, VIEWS.map(function (v) {
      var q = { view: v.name };
      if (state.department) q.department = state.department;
      return S.link('queue' + S.query(q), t('queue.view.' + v.name),
        { class: 'tab' + (v === view && !state.q ? ' active' : ''), 'aria-current': v === view && !state.q ? 'page' : null });
    }));
    var search = h('input', { type: 'search', id: 'q', name: 'q', value: state.q, placeholder: t('queue.search_hint'), autocomplete: 'off' });
    var dept = h('select', { id: 'department', name: 'department' },
      h('option', { value: '' }, t('queue.all_departments')),
      (S.departments || []).filter(function (d) { return d.active !== false && mayFilter(d.name); }).map(function (d) {
        return h('option', { value: d.name, selected: d.name === state.department }, S.departmentLabel(d.name));
      }));
    var filters = h('form', { class: 'filters', role: 'search' },
      h('label', { for: 'q', class: 'sr' }, t('queue.search')), search,
      h('label', { for: 'department', class: 'sr' }, t('queue.department')), dept,
      h('button', { type: 'submit' }, t('queue.search')));
    filters.addEventListener('submit', function (e) {
      e.preventDefault();
      state.q = search.value.trim();
      state.department = dept.value;
      var q = { view: view.name, q: state.q, department: state.department };
      history.replaceState(null, '', S.conf.root + 'queue' + S.query(q));
      load(false);
    });
    dept.addEventListener('change', function () { filters.requestSubmit ? filters.requestSubmit() : filters.dispatchEvent(new Event('submit')); });

    S.every(REFRESH_MS, function () { if (!document.hidden && !state.cursor) load(false); });
    var page = h('section', { class: 'queue-page' },
      h('h1', null, state.q ? t('queue.results', { q: state.q }) : t('queue.view.' + view.name)),
      tabs, filters, status, h('div', { class: 'table-wrap' }, table), more);
    agentCards();
    return load(false).then(function () { return page; });
  }
  /* The team's names for the assignee column (GET /agents: every agent may list them). */
  function agentCards() {
    if (S.agentCards) return Promise.resolve(S.agentCards);
    return S.api('GET', '/agents?limit=100').then(function (r) { S.agentCards = r.items || []; return S.agentCards; },
      function () { S.agentCards = []; return []; });
  }
  S.agentList = agentCards;

  S.page('queue', { nav: 10, title: 'nav.queue', render: render });

  S.strings({
    en: {
      'nav.queue': 'Queue', 'queue.views': 'Views', 'queue.view.mine': 'Mine', 'queue.view.unassigned': 'Unassigned',
      'queue.view.due': 'Due soon', 'queue.view.breached': 'Breached', 'queue.view.pending': 'Pending',
      'queue.view.decisions': 'Waiting decisions', 'queue.view.open': 'All open', 'queue.view.done': 'Resolved',
      'queue.ref': 'Ref', 'queue.subject': 'Subject', 'queue.status': 'Status', 'queue.department': 'Department',
      'queue.channel': 'Channel', 'queue.assignee': 'Assignee', 'queue.sla': 'Due', 'queue.activity': 'Last activity',
      'queue.no_subject': '(no subject)', 'queue.nobody': 'Nobody', 'queue.more': 'Show more',
      'queue.count': '{n} tickets', 'queue.count_one': '1 ticket', 'queue.none_found': 'No ticket matches.',
      'queue.empty.mine': 'Nothing assigned to you. Take one from Unassigned.',
      'queue.empty.unassigned': 'No unassigned tickets.', 'queue.empty.due': 'Nothing due within the hour.',
      'queue.empty.breached': 'No breached tickets.', 'queue.empty.pending': 'No pending tickets.',
      'queue.empty.decisions': 'No decisions waiting.', 'queue.empty.open': 'No open tickets.',
      'queue.empty.done': 'No resolved tickets.',
      'queue.search': 'Search', 'queue.search_hint': 'Ref, email, phone or words', 'queue.all_departments': 'All departments',
      'queue.results': 'Search: {q}'
    },
    bn: {
      'nav.queue': 'কিউ', 'queue.views': 'দৃশ্য', 'queue.view.mine': 'আমার', 'queue.view.unassigned': 'কারও নয়',
      'queue.view.due': 'শিগগির সময়সীমা', 'queue.view.breached': 'সময় পেরিয়েছে', 'queue.view.pending': 'অপেক্ষমাণ',
      'queue.view.decisions': 'সিদ্ধান্তের অপেক্ষায়', 'queue.view.open': 'সব খোলা', 'queue.view.done': 'সমাধান হয়েছে',
      'queue.ref': 'নম্বর', 'queue.subject': 'বিষয়', 'queue.status': 'অবস্থা', 'queue.department': 'বিভাগ',
      'queue.channel': 'মাধ্যম', 'queue.assignee': 'দায়িত্বে', 'queue.sla': 'সময়সীমা', 'queue.activity': 'শেষ কার্যক্রম',
      'queue.no_subject': '(বিষয় নেই)', 'queue.nobody': 'কেউ না', 'queue.more': 'আরও দেখুন',
      'queue.count': '{n}টি টিকিট', 'queue.count_one': '১টি টিকিট', 'queue.none_found': 'কোনো টিকিট মেলেনি।',
      'queue.empty.mine': 'আপনার দায়িত্বে কিছু নেই। "কারও নয়" থেকে একটি নিন।',
      'queue.empty.unassigned': 'দায়িত্বহীন কোনো টিকিট নেই।', 'queue.empty.due': 'এক ঘণ্টার মধ্যে কিছু বাকি নেই।',
      'queue.empty.breached': 'সময় পেরোনো কোনো টিকিট নেই।', 'queue.empty.pending': 'অপেক্ষমাণ কোনো টিকিট নেই।',
      'queue.empty.decisions': 'কোনো সিদ্ধান্ত অপেক্ষায় নেই।', 'queue.empty.open': 'খোলা কোনো টিকিট নেই।',
      'queue.empty.done': 'সমাধান হওয়া কোনো টিকিট নেই।',
      'queue.search': 'খুঁজুন', 'queue.search_hint': 'নম্বর, ইমেইল, ফোন বা শব্দ', 'queue.all_departments': 'সব বিভাগ',
      'queue.results': 'খোঁজ: {q}'
    }
  });
})();
