/* The ticket page (/console/tickets/<ref>; issue 23, "Ticket view"): everything an agent needs
 * to work one ticket, on a phone or a desktop.
 *
 *  - header: #ref, subject, status / priority / channel pills, SLA due badges (first response,
 *    next reply, resolution; breaches named), a banner for a merged ticket or a waiting decision;
 *  - the timeline, oldest first (ol.timeline > li.entry, data-kind message|event|note|decision):
 *    customer and agent messages by channel with sender, time, status and attachments; events
 *    as one line in words (an unknown type is shown by its type, never dropped); staff mail
 *    (notifications to agents) as one line (data-kind event, data-type staff.<kind>); internal
 *    notes set apart; decisions with the approve / reject form when the viewer may decide;
 *  - the reply box (form.reply): channel (the ticket's reply_channel first; a channel that
 *    cannot reach the customer is disabled, saying why), text, macro with its preview, files
 *    for email (the web form's limits), a live SMS segment counter (Setu.smsSegments);
 *  - the internal note (form.note), properties (status, priority, department, assignee, Take),
 *    callback scheduling (form.callback), merge into another ticket (form.merge, confirmed);
 *  - the customer (.customer): name, addresses and their state, opt-outs, other tickets.
 *
 * Macros: choosing one shows its preview (.macro-preview); Send then sends {macro: name}, so
 * the macro's actions (status, priority) apply too. "Edit the text" copies the preview into
 * the text box instead and forgets the macro: what is sent is then the edited body, and the
 * macro's actions do not apply.
 *
 * What is typed in the reply and note boxes is kept per ticket in sessionStorage (a refresh,
 * a language switch or a visit to the queue loses nothing) until it is sent. The ticket is
 * read again every 30 s; the forms are never rebuilt by that.
 *
 * API calls (all through Setu.api, i.e. /console/api/...):
 *   GET  /tickets/{ref}                          the ticket, customer, channels, SLA, timeline
 *   GET  /customers/{customer_id}                addresses' state, opt-outs, other tickets
 *   GET  /macros                                 the macro list (once per page)
 *   GET  /agents                                 names and the assignee list (Setu.agentList)
 *   POST /tickets/{id}/preview                   a macro's text for this ticket; once with
 *                                                {template, channel: sms} to learn the SMS
 *                                                segment limit (sms.max_segments)
 *   POST /tickets/{id}/replies                   {body | macro, channel, attachments?}
 *   POST /tickets/{id}/notes                     {body}
 *   PATCH /tickets/{id}                          {status | priority | department | assignee, version}
 *   POST /tickets/{id}/take                      {version, force?}
 *   POST /tickets/{id}/callbacks                 {at: "YYYY-MM-DD HH:MM" business time, note?}
 *   POST /tickets/{id}/merge                     {into, version, force?}
 *   POST /tickets/{id}/split                     {message}: a customer's message as a new ticket
 *   POST /tickets/{id}/decisions                 {question, approver?}: ask a lead
 *   POST /tickets/{id}/decisions/{decision_id}   {outcome, comment?, message?}
 */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;
  var REFRESH_MS = 30000;
  // the web form's limits (config.py: SETU_MAX_ATTACHMENTS, _ATTACHMENT_BYTES, _REQUEST_ATTACHMENTS_BYTES)
  var FILES = { count: 5, each: 2 * 1024 * 1024, total: 4 * 1024 * 1024,
    accept: 'image/*,application/pdf,text/plain,text/csv,.doc,.docx,.xls,.xlsx' };
  var STAFF_KINDS = { staff_assigned: 1, staff_replied: 1, staff_callback: 1, staff_sla_warning: 1,
    decision_request: 1, staff_decision: 1, escalation: 1 };
  var TARGETS = ['first_response', 'next_reply', 'resolution'];

  // ---- SMS segments (the server's rule: services/messaging/sms_text.py) ----------------------
  var GSM7_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
  var GSM7_EXT = '^{}\\[~]|€\f';
  /* smsSegments('Hello') -> {chars: 5, units: 5, segments: 1, unicode: false, encoding: 'GSM-7'}
   * (units, encoding and segments as the API's `sms` answers name them).
   * GSM-7: extension characters count 2; 160 in one segment, 153 per segment when split.
   * Any other character (Bengali, an emoji) makes the whole text UCS-2, counted in UTF-16 code
   * units: 70 in one segment, 67 per segment. `chars` is what counts (septets or code units);
   * an empty text is 0 segments. */
  S.smsSegments = function (text) {
    text = String(text === null || text === undefined ? '' : text);
    var units = 0, unicode = false;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (GSM7_BASIC.indexOf(c) >= 0) units += 1;
      else if (GSM7_EXT.indexOf(c) >= 0) units += 2;
      else { unicode = true; break; }
    }
    if (unicode) units = text.length; // JS strings are UTF-16 code units already
    var single = unicode ? 70 : 160, multi = unicode ? 67 : 153;
    var segments = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
    return { chars: units, units: units, segments: segments, unicode: unicode, encoding: unicode ? 'UCS-2' : 'GSM-7' };
  };
  var smsMax = 6; // SETU_SMS_MAX_SEGMENTS' default, until a preview says otherwise
  var smsMaxAsked = false;

  // ---- little helpers ----------------------------------------------------------------------
  function path(ticket, rest) { return '/tickets/' + encodeURIComponent(ticket.id) + (rest || ''); }
  function size(n) {
    if (n >= 1024 * 1024) return t('tk.mb', { n: S.num(Math.round(n / 104857.6) / 10) });
    return t('tk.kb', { n: S.num(Math.max(1, Math.round(n / 1024))) });
  }
  function agentFor(principal) {
    if (!principal) return null;
    var short = shortName(principal);
    return (S.agentCards || []).filter(function (a) {
      return a.principal === principal || a.id === principal || a.short_name === short;
    })[0] || null;
  }
  /* A person's name for an actor or sender: the customer, Setu itself, or an agent. */
  function who(principal, ticket) {
    if (!principal) return '';
    if (principal === 'customer') return (ticket.customer && ticket.customer.name) || t('tk.customer');
    if (principal === 'system' || principal === 'round_robin') return t('tk.setu');
    if (S.me && principal === S.me.principal) return S.me.display_name || S.me.short_name || t('tk.you');
    var a = agentFor(principal);
    if (a) return a.display_name || a.short_name;
    return shortName(principal);
  }
  /* arn:aws:iam::1:user/karim and console:karim (an agent without IAM) -> karim */
  function shortName(principal) { return String(principal).split('/').pop().replace(/^console:/, ''); }
  function targetLabel(name) { return S.label('tk.target', name); }
  function kindLabel(kind) { return STAFF_KINDS[kind] ? t('tk.kind.staff') : S.label('tk.kind', kind || 'message'); }
  function langName(l) { return l ? S.label('tk.lang', l) : ''; }
  function refLink(ref) { return S.link('tickets/' + encodeURIComponent(ref), '#' + ref); }
  function fill(el, nodes) { S.clear(el); S.append(el, nodes); return el; }
  function draftKey(ticketRef, name) { return 'setu.draft.' + ticketRef + '.' + name; }
  function bodyText(text) { return h('div', { class: 'body' }, text || ''); }
  /* Setu's own long messages (acknowledgements, notices) folded to a few lines. */
  function clamped(text) {
    text = text || '';
    if (text.split('\n').length <= 4 && text.length <= 320) return bodyText(text);
    var body = h('div', { class: 'body clamp' }, text);
    var more = h('button', { type: 'button', class: 'link more-text', 'aria-expanded': 'false' }, t('tk.show_all'));
    more.addEventListener('click', function () {
      var open = body.classList.toggle('clamp');
      more.setAttribute('aria-expanded', open ? 'false' : 'true');
      more.textContent = t(open ? 'tk.show_all' : 'tk.show_less');
    });
    return [body, more];
  }
  /* Put the text of an API error into a form's error slot (and its field messages). */
  function showError(slot, err, extra, labels) {
    slot.hidden = false;
    var fields = (err && err.fields) || {};
    var names = Object.keys(fields).filter(function (f) { return typeof fields[f] === 'string'; });
    fill(slot, [extra ? h('span', null, extra + ' ') : null, (err && err.message) || t('error.generic'),
      names.length ? h('ul', { class: 'fields' }, names.map(function (f) {
        var base = f.split('.')[0];
        return h('li', null, h('strong', null, (labels && labels[base]) || f), ': ', fields[f]);
      })) : null]);
  }
  function clearError(slot) { slot.hidden = true; S.clear(slot); }

  // ---- the header ---------------------------------------------------------------------------
  function head(ticket) {
    var sla = ticket.sla || {};
    var breached = sla.breached || [];
    var done = ticket.status === 'resolved' || ticket.status === 'closed';
    var dues = [];
    TARGETS.forEach(function (target) {
      var due = sla[target + '_due'];
      if ((target === 'first_response' && ticket.first_response_at) || done) due = null;
      var isBreached = breached.indexOf(target) >= 0;
      if (!due && !isBreached) return;
      dues.push(h('span', { class: 'due-item', 'data-target': target },
        h('span', { class: 'due-label' }, targetLabel(target)),
        due ? S.dueBadge(due, isBreached) : h('span', { class: 'badge breached' }, t('tk.breached'))));
    });
    var assignee = ticket.assignee ? who(ticket.assignee, ticket) : null;
    return [
      h('h1', null, h('span', { class: 'ref' }, '#' + ticket.ref), ' ',
        h('span', { class: 'subject' }, ticket.subject || t('queue.no_subject'))),
      h('div', { class: 'meta row' },
        h('span', { class: 'pill status ' + ticket.status }, S.label('status', ticket.status)),
        h('span', { class: 'pill priority ' + ticket.priority }, S.label('priority', ticket.priority)),
        ticket.channel ? h('span', { class: 'pill channel' }, S.label('channel', ticket.channel)) : null,
        h('span', { class: 'muted' }, S.departmentLabel(ticket.department)),
        h('span', { class: 'muted' }, assignee ? t('tk.assigned_to', { name: assignee }) : t('tk.unassigned')),
        h('span', { class: 'muted', title: S.when(ticket.created_at) }, t('tk.opened', { when: S.when(ticket.created_at, 'short') }))),
      dues.length || sla.paused ? h('div', { class: 'sla row' }, dues,
        sla.paused ? h('span', { class: 'badge paused' }, t('tk.sla_paused')) : null) : null,
      breached.length ? h('p', { class: 'breaches' }, t('tk.breaches', { list: breached.map(targetLabel).join(', ') })) : null,
      ticket.merged_into ? h('p', { class: 'notice merged' }, t('tk.merged_into'), ' ', mergedLink(ticket)) : null
    ];
  }
  function mergedLink(ticket) {
    var ev = (ticket.timeline || []).filter(function (e) { return e.type === 'ticket.merged_into'; }).pop();
    return ev && ev.data && ev.data.ref ? refLink(ev.data.ref) : h('span', null, ticket.merged_into);
  }

  // ---- the timeline -------------------------------------------------------------------------
  function entryHead(parts, at) {
    return h('div', { class: 'entry-head' }, parts,
      h('time', { datetime: at, title: S.when(at) }, S.when(at, 'short')));
  }
  function attachmentList(list) {
    if (!list || !list.length) return null;
    return h('ul', { class: 'attachments', 'aria-label': t('tk.attachments') }, list.map(function (a) {
      return h('li', null, h('span', { class: 'file' }, a.filename || t('tk.file')),
        a.size ? h('span', { class: 'muted' }, ' · ' + size(a.size)) : null);
    }));
  }
  function messageEntry(e, ticket, ctx) {
    if (e.kind === 'note' || e.channel === 'internal') {
      return h('li', { class: 'entry note', 'data-kind': 'note', 'data-id': e.id },
        entryHead([h('strong', null, t('tk.note')), ' · ', h('span', { class: 'who' }, who(e.sender, ticket))], e.at),
        bodyText(e.body), attachmentList(e.attachments));
    }
    if (STAFF_KINDS[e.kind]) {
      return h('li', { class: 'entry event staff', 'data-kind': 'event', 'data-type': 'staff.' + e.kind, 'data-id': e.id },
        h('details', null, h('summary', null,
          h('span', { class: 'what' }, t('tk.staff_mail', { to: e.recipient || '', subject: e.subject || '' })),
          e.status && e.status !== 'sent' ? h('span', { class: 'muted' }, ' · ' + S.label('tk.mstatus', e.status)) : null,
          ' ', h('time', { datetime: e.at, title: S.when(e.at) }, S.when(e.at, 'short'))),
          bodyText(e.body)));
    }
    var inbound = e.direction === 'in';
    var from;
    if (inbound) {
      from = [h('strong', { class: 'who' }, (ticket.customer && ticket.customer.name) || e.sender || t('tk.customer')),
        e.sender && ticket.customer && ticket.customer.name ? h('span', { class: 'muted addr' }, ' ' + e.sender) : null];
    } else {
      var byAgent = e.sender && e.sender !== 'system';
      from = [h('strong', { class: 'who' }, byAgent ? who(e.sender, ticket) : t('tk.setu_auto')),
        e.recipient ? h('span', { class: 'muted addr' }, ' → ' + e.recipient) : null];
    }
    var tags = [h('span', { class: 'pill channel ' + e.channel }, S.label('channel', e.channel))];
    if (e.kind && e.kind !== 'message' && e.kind !== 'reply') tags.push(h('span', { class: 'pill kind' }, kindLabel(e.kind)));
    if (e.macro) tags.push(h('span', { class: 'pill kind', title: t('tk.macro_used') }, t('tk.macro_tag', { name: e.macro.name })));
    if (!inbound && e.status) tags.push(h('span', { class: 'mstatus ' + e.status }, S.label('tk.mstatus', e.status)));
    if (e.segments && e.channel === 'sms') tags.push(h('span', { class: 'muted' }, t(e.segments === 1 ? 'tk.segments_one' : 'tk.segments_n', { n: e.segments })));
    var automatic = !inbound && !(e.sender && e.sender !== 'system');
    return h('li', { class: 'entry message ' + (inbound ? 'in' : 'out') + (automatic ? ' automatic' : ''), 'data-kind': 'message',
      'data-direction': inbound ? 'in' : 'out', 'data-channel': e.channel || '', 'data-id': e.id },
      entryHead([from, ' ', tags], e.at),
      e.subject && e.channel === 'email' ? h('div', { class: 'msubject' }, e.subject) : null,
      automatic ? clamped(e.body) : bodyText(e.body),
      attachmentList(e.attachments),
      e.error ? h('p', { class: 'error small' }, e.error) : null,
      e.origin ? h('p', { class: 'muted small' }, t('tk.copied')) : null,
      inbound && e.kind === 'message' && !e.origin && ctx && inboundCount(ticket) > 1 ? splitBox(e, ctx) : null);
  }
  function inboundCount(ticket) {
    return (ticket.timeline || []).filter(function (x) { return x.entry === 'message' && x.direction === 'in' && x.kind === 'message'; }).length;
  }
  /* A customer's message that is really another request: POST .../split makes it a new ticket. */
  function splitBox(e, ctx) {
    var box = h('div', { class: 'split' });
    var ask = h('button', { type: 'button', class: 'link split-start' }, t('split.start'));
    ask.addEventListener('click', function () {
      fill(box, [h('span', null, t('split.confirm') + ' '),
        h('button', { type: 'button', class: 'split-go', onclick: go }, t('split.yes')), ' ',
        h('button', { type: 'button', class: 'link', onclick: function () { fill(box, ask); } }, t('cancel'))]);
    });
    function go() {
      box.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
      S.api('POST', path(ctx.ticket, '/split'), { message: e.id }).then(function (r) {
        S.toast(t('split.done', { ref: r.ticket.ref }));
        S.go('tickets/' + encodeURIComponent(r.ticket.ref));
      }, function (err) { fill(box, [ask, ' ', h('span', { class: 'error small' }, S.errorText(err))]); });
    }
    box.appendChild(ask);
    return box;
  }

  /* One line of words for an event: [text nodes]. Unknown types: the type and its data. */
  function eventWords(e, ticket) {
    var d = e.data || {};
    var ch = function (c) { return S.label('channel', c); };
    var st = function (s) { return S.label('status', s); };
    var agentName = function (p) { return p ? who(p, ticket) : t('queue.nobody'); };
    switch (e.type) {
      case 'ticket.created':
        return [d.started_by === 'agent' ? t('ev.started', { channel: ch(d.channel) })
          : t('ev.created', { channel: ch(d.channel), department: S.departmentLabel(d.department) }),
          d.split_from ? [' ', t('ev.split_from'), ' ', refLink(d.split_from.ref)] : null];
      case 'message.received': return [t('ev.received', { channel: ch(d.channel) })];
      case 'message.sent': return [t('ev.sent', { kind: kindLabel(d.kind), channel: ch(d.channel) })];
      case 'message.delivered': return [t('ev.delivered', { kind: kindLabel(d.kind), channel: ch(d.channel) })];
      case 'message.failed':
        return [t('ev.failed', { channel: ch(d.channel), why: [d.reason ? S.label('tk.mstatus', d.reason) : '', d.detail || d.error || '']
          .filter(Boolean).join(': ') })];
      case 'message.fallback': return [t('ev.fallback', { from: ch(d.from_channel), to: ch(d.to_channel), why: d.reason || '' })];
      case 'message.complaint': return [t('ev.complaint')];
      case 'message.held': return [t('ev.held')];
      case 'ticket.assigned':
        if (!d.to) return [t('ev.unassigned')];
        if (d.by === 'round_robin') return [t('ev.assigned_rr', { name: agentName(d.to) })];
        if (e.actor === d.to) return [t('ev.took', { name: agentName(d.to) })];
        return [t('ev.assigned', { name: agentName(d.to) })];
      case 'ticket.unassigned': return [t('ev.not_assigned', { why: d.reason || '' })];
      case 'ticket.status_changed':
        return [t('ev.status', { from: st(d.from), to: st(d.to) }), d.reason === 'merged' ? ' ' + t('ev.because_merged') : null];
      case 'ticket.priority_changed':
        return [t('ev.priority', { from: S.label('priority', d.from), to: S.label('priority', d.to) })];
      case 'ticket.department_changed':
        return [t('ev.department', { from: S.departmentLabel(d.from), to: S.departmentLabel(d.to) })];
      case 'ticket.merged_into': return [t('ev.merged_into'), ' ', refLink(d.ref), ' ', t('ev.copied', { n: d.copied || 0 })];
      case 'ticket.merged': return [refLink(d.ref), ' ', t('ev.merged_here'), ' ', t('ev.copied', { n: d.copied || 0 })];
      case 'ticket.split': return [t('ev.split'), ' ', refLink(d.ref)];
      case 'ticket.escalated':
        return [t('ev.escalated', { level: d.level || 1, target: d.target ? targetLabel(d.target) : '',
          to: (d.to || []).map(agentName).join(', ') || S.label('role', d.to_role) })];
      case 'ticket.auto_closed': return [t('ev.auto_closed')];
      case 'sla.warning': return [t('ev.sla_warning', { target: targetLabel(d.target), due: S.when(d.due_at) })];
      case 'sla.breached': return [t('ev.sla_breached', { target: targetLabel(d.target), due: S.when(d.due_at) })];
      case 'sla.met': return [t(d.late ? 'ev.sla_met_late' : 'ev.sla_met', { target: targetLabel(d.target) })];
      case 'sla.policy_changed': return [t('ev.policy', { from: d.from || '–', to: d.to || '–' })];
      case 'callback.scheduled': return [t('ev.callback', { at: S.when(d.at) }), d.note ? ' — ' + d.note : null];
      case 'callback.due': return [t('ev.callback_due', { at: S.when(d.due_at) }), d.note ? ' — ' + d.note : null];
      case 'csat.received': return [t('ev.csat', { score: S.num(d.score) })];
      case 'csat.commented': return [t('ev.csat_comment'), ' “', d.comment || '', '”'];
      case 'followup.confirmed': return [t('ev.followup_ok')];
      case 'followup.reopened': return [t('ev.followup_reopened')];
      case 'opted_out': return [t('ev.opted_out', { number: d.number || '', word: d.keyword || '' })];
      case 'opted_in': return [t('ev.opted_in', { number: d.number || '', word: d.keyword || '' })];
      case 'identity.unlinked':
        return [t('ev.unlinked', { list: (d.addresses || []).map(function (a) {
          if (typeof a !== 'object' || !a) return String(a);
          return a.address + (a.reason ? ' (' + S.label('tk.unlinked', a.reason) + ')' : '');
        }).join(', ') })];
      case 'ack.template_failed': return [t('ev.ack_failed')];
      case 'decision.customer_notice.sent': return [t('ev.notice_sent', { channel: ch(d.channel) })];
      case 'decision.customer_notice.skipped': return [t('ev.notice_skipped')];
      default: return null;
    }
  }
  function decisionWords(e, ticket) {
    var d = e.data || {};
    switch (e.type) {
      case 'decision.requested':
        return [h('strong', null, t('dec.requested')), ' “', d.question || '', '”',
          d.due_at ? h('span', { class: 'muted' }, ' · ' + t('dec.due', { when: S.when(d.due_at) })) : null];
      case 'decision.approved':
      case 'decision.rejected':
        return [h('strong', { class: e.type === 'decision.approved' ? 'ok' : 'bad' }, t(e.type === 'decision.approved' ? 'dec.approved' : 'dec.rejected')),
          d.comment ? ' — “' + d.comment + '”' : null, d.late ? h('span', { class: 'muted' }, ' · ' + t('dec.late')) : null];
      case 'decision.reminded': return [t('dec.reminded', { n: d.reminder || 1 })];
      case 'decision.overdue': return [h('strong', { class: 'bad' }, t('dec.overdue'))];
      case 'decision.withdrawn': return [t('dec.withdrawn')];
      default: return null;
    }
  }
  function eventEntry(e, ticket, ctx) {
    var isDecision = /^decision\.(requested|approved|rejected|reminded|overdue|withdrawn)$/.test(e.type);
    var words = isDecision ? decisionWords(e, ticket) : eventWords(e, ticket);
    var unknown = !words;
    if (unknown) words = [h('code', null, e.type || '?'), dataSummary(e.data)];
    var actor = e.actor && e.actor !== 'system' && e.actor !== 'customer' ? who(e.actor, ticket) : null;
    var li = h('li', { class: 'entry ' + (isDecision ? 'decision' : 'event') + (unknown ? ' unknown' : ''),
      'data-kind': isDecision ? 'decision' : 'event', 'data-type': e.type || '' },
      h('span', { class: 'what' }, words),
      actor ? h('span', { class: 'muted who' }, ' · ' + actor) : null,
      ' ', h('time', { datetime: e.at, title: S.when(e.at) }, S.when(e.at, 'short')));
    var dec = ticket.decision;
    if (e.type === 'decision.requested' && dec && dec.state === 'requested' && e.data && e.data.decision === dec.id) {
      li.id = 'decision-' + dec.id;
      li.classList.add('open');
      li.appendChild(decisionBox(ticket, ctx));
    }
    return li;
  }
  function dataSummary(data) {
    var keys = Object.keys(data || {}).filter(function (k) { var v = data[k]; return v !== null && typeof v !== 'object'; });
    if (!keys.length) return null;
    return h('span', { class: 'muted' }, ' ' + keys.slice(0, 4).map(function (k) { return k + ': ' + data[k]; }).join(', '));
  }
  function timelineItems(ticket, ctx) {
    return (ticket.timeline || []).map(function (e) {
      return e.entry === 'message' ? messageEntry(e, ticket, ctx) : eventEntry(e, ticket, ctx);
    });
  }

  // ---- decisions ----------------------------------------------------------------------------
  function mayDecide(dec) {
    if (!dec || dec.state !== 'requested' || !S.isLead()) return false;
    return S.isAdmin() || !dec.approver || dec.approver === S.me.principal;
  }
  function decisionBox(ticket, ctx) {
    var dec = ticket.decision;
    var box = h('div', { class: 'decide' },
      h('p', { class: 'muted' }, t('dec.asked_by', { name: who(dec.requested_by, ticket) }), ' ',
        S.dueBadge(dec.due_at, dec.overdue)));
    if (!mayDecide(dec)) {
      box.appendChild(h('p', { class: 'muted' }, t('dec.waiting')));
      return box;
    }
    var comment = h('textarea', { name: 'comment', id: 'dec-comment', rows: 2, maxlength: 2000 });
    var message = h('textarea', { name: 'message', id: 'dec-message', rows: 2, maxlength: 2000 });
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var form = h('form', { class: 'decision', 'data-decision': dec.id },
      h('p', { class: 'field' }, h('label', { for: 'dec-comment' }, t('dec.comment')), comment),
      h('p', { class: 'field' }, h('label', { for: 'dec-message' }, t('dec.message')), message),
      err,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary approve', 'data-outcome': 'approved', onclick: decide }, t('dec.approve')),
        h('button', { type: 'button', class: 'danger reject', 'data-outcome': 'rejected', onclick: decide }, t('dec.reject'))));
    form.addEventListener('submit', function (ev) { ev.preventDefault(); });
    function decide(ev) {
      var outcome = ev.currentTarget.getAttribute('data-outcome');
      var body = { outcome: outcome };
      if (comment.value.trim()) body.comment = comment.value.trim();
      if (message.value.trim()) body.message = message.value.trim();
      clearError(err);
      S.busy(form, true);
      S.api('POST', path(ticket, '/decisions/' + encodeURIComponent(dec.id)), body).then(function () {
        comment.value = ''; message.value = ''; // decided: nothing left to keep, the timeline may redraw
        S.toast(t(outcome === 'approved' ? 'dec.done_approved' : 'dec.done_rejected'));
        ctx.reload();
      }, function (e) { S.busy(form, false); showError(err, e); });
    }
    box.appendChild(form);
    return box;
  }

  // ---- the reply box ------------------------------------------------------------------------
  function channelReason(ticket, name) {
    var c = (ticket.channels || {})[name] || {};
    if (c.usable) return null;
    if (c.opted_out_at) return t('reply.why_opted_out', { when: S.when(c.opted_out_at, 'date') });
    if (!c.addresses || !c.addresses.length) return t(name === 'sms' ? 'reply.why_no_phone' : 'reply.why_no_email');
    if (c.blocked && c.blocked.length) {
      var b = c.blocked[0];
      return t('reply.why_blocked', { why: b.reason || '', when: b.at ? S.when(b.at, 'date') : '' });
    }
    return t('reply.why_unusable');
  }
  function replyForm(ctx) {
    var ref = ctx.ref;
    var channel = h('select', { name: 'channel', id: 'reply-channel' });
    var body = h('textarea', { name: 'body', id: 'reply-body', rows: 6, maxlength: 20000,
      placeholder: t('reply.placeholder'), value: sessionStorage.getItem(draftKey(ref, 'body')) || '' });
    var macro = h('select', { name: 'macro', id: 'reply-macro' }, h('option', { value: '' }, t('reply.no_macro')));
    var preview = h('div', { class: 'macro-preview', hidden: true, 'aria-live': 'polite' });
    var counter = h('p', { class: 'sms-counter', hidden: true, 'aria-live': 'polite' });
    var files = h('input', { type: 'file', name: 'attachments', id: 'reply-files', multiple: true, accept: FILES.accept });
    var fileList = h('ul', { class: 'chosen-files' });
    var fileField = h('p', { class: 'field files' }, h('label', { for: 'reply-files' }, t('reply.files')), files,
      h('span', { class: 'muted small' }, t('reply.files_hint', { n: FILES.count, each: size(FILES.each), total: size(FILES.total) })), fileList);
    var reason = h('p', { class: 'small channel-why', hidden: true });
    var err = h('div', { class: 'error form-error', role: 'alert', hidden: true });
    var send = h('button', { type: 'submit', class: 'primary send' }, t('reply.send'));
    var form = h('form', { class: 'reply card', novalidate: true, 'aria-label': t('reply.title') },
      h('h2', null, t('reply.title')),
      h('div', { class: 'reply-opts' },
        h('p', { class: 'field' }, h('label', { for: 'reply-channel' }, t('reply.channel')), channel),
        h('p', { class: 'field' }, h('label', { for: 'reply-macro' }, t('reply.macro')), macro)),
      reason,
      h('p', { class: 'field' }, h('label', { for: 'reply-body', class: 'sr' }, t('reply.body')), body),
      preview, counter, fileField, err,
      h('div', { class: 'row' }, send, h('span', { class: 'muted small hide-phone' }, t('reply.shortcut'))));
    var state = { previewed: null, previewSeq: 0, chosen: [] };

    function ticket() { return ctx.ticket; }
    /* The channel options (enabled or not, with the reason); the selection is kept. */
    form.updateChannels = function () {
      var tk = ticket();
      var current = channel.value;
      if (document.activeElement === channel) return; // not while the agent is choosing
      S.clear(channel);
      ['email', 'sms'].forEach(function (name) {
        var why = channelReason(tk, name);
        channel.appendChild(h('option', { value: name, disabled: !!why },
          S.label('channel', name) + (why ? ' — ' + why : '')));
      });
      var pick = current && !channelReason(tk, current) ? current : (tk.reply_channel || '');
      if (!pick || channelReason(tk, pick)) {
        pick = ['email', 'sms'].filter(function (n) { return !channelReason(tk, n); })[0] || '';
      }
      var none = !pick;
      if (none) channel.insertBefore(h('option', { value: '', disabled: true }, t('reply.no_channel')), channel.firstChild);
      channel.value = pick;
      reason.hidden = !none;
      reason.textContent = none ? t('reply.nowhere') + ' ' + ['email', 'sms'].map(function (n) {
        return S.label('channel', n) + ': ' + channelReason(tk, n);
      }).join('; ') + '.' : '';
      if (form.getAttribute('aria-busy') !== 'true') send.disabled = none;
      if (pick !== current || !state.ready) { state.ready = true; changed(); }
    };
    form.setMacros = function (items) {
      var current = macro.value;
      S.clear(macro);
      macro.appendChild(h('option', { value: '' }, items.length ? t('reply.no_macro') : t('reply.no_macros')));
      items.forEach(function (m) {
        macro.appendChild(h('option', { value: m.name, 'data-channels': (m.channels || []).join(' ') }, m.title || m.name));
      });
      macro.value = current;
      macroOptions();
    };
    /* A macro written for email only cannot be chosen for SMS (and the other way round). */
    function macroOptions() {
      Array.prototype.forEach.call(macro.options, function (o) {
        var chs = o.getAttribute('data-channels');
        o.disabled = !!(o.value && chs && channel.value && chs.split(' ').indexOf(channel.value) < 0);
      });
      if (macro.selectedOptions[0] && macro.selectedOptions[0].disabled) { macro.value = ''; }
    }
    function isSms() { return channel.value === 'sms'; }
    function changed() {
      macroOptions();
      fileField.hidden = isSms() || !channel.value;
      files.disabled = isSms();
      if (isSms()) askSmsMax();
      if (macro.value) loadPreview(); else { preview.hidden = true; state.previewed = null; }
      body.disabled = !!macro.value;
      body.placeholder = macro.value ? t('reply.macro_chosen') : t('reply.placeholder');
      count();
    }
    function count() {
      if (!isSms()) { counter.hidden = true; return; }
      var text = macro.value ? (state.previewed ? state.previewed.body : '') : body.value;
      var c = S.smsSegments(text);
      counter.hidden = false;
      counter.classList.toggle('over', c.segments > smsMax);
      var key = (c.unicode ? 'sms.count_unicode' : 'sms.count') + (c.segments === 1 ? '_one' : '');
      fill(counter, [t(key, { chars: c.chars, segments: c.segments }),
        c.segments > smsMax ? h('strong', null, ' ' + t('sms.too_long', { max: smsMax })) : null]);
    }
    function askSmsMax() {
      if (smsMaxAsked) return;
      smsMaxAsked = true;
      S.api('POST', path(ticket(), '/preview'), { template: '.', channel: 'sms' }).then(function (p) {
        if (p && p.sms && p.sms.max_segments) { smsMax = p.sms.max_segments; count(); }
      }, function () { smsMaxAsked = false; });
    }
    function loadPreview() {
      var seq = ++state.previewSeq;
      var name = macro.value;
      preview.hidden = false;
      fill(preview, h('p', { class: 'loading' }, t('loading')));
      var req = { macro: name };
      if (channel.value) req.channel = channel.value;
      S.api('POST', path(ticket(), '/preview'), req).then(function (p) {
        if (seq !== state.previewSeq) return;
        state.previewed = p;
        if (p.sms && p.sms.max_segments) smsMax = p.sms.max_segments;
        fill(preview, [
          h('div', { class: 'preview-head' }, h('strong', null, t('reply.preview')),
            h('span', { class: 'muted' }, ' · ' + S.label('channel', p.channel) + ' · ' + langName(p.lang)),
            p.macro && p.macro.actions && Object.keys(p.macro.actions).length ? h('span', { class: 'muted' }, ' · ' + actionsText(p.macro.actions)) : null),
          p.subject && p.channel === 'email' ? h('div', { class: 'msubject' }, p.subject) : null,
          bodyText(p.body),
          h('div', { class: 'row' },
            h('button', { type: 'button', class: 'link edit-macro', onclick: editMacro }, t('reply.edit_macro')),
            h('button', { type: 'button', class: 'link drop-macro', onclick: dropMacro }, t('reply.drop_macro')))]);
        count();
      }, function (e) {
        if (seq !== state.previewSeq) return;
        state.previewed = null;
        fill(preview, S.errorBox(e));
        count();
      });
    }
    function actionsText(actions) {
      var out = [];
      if (actions.status) out.push(t('reply.action_status', { s: S.label('status', actions.status) }));
      if (actions.priority) out.push(t('reply.action_priority', { p: S.label('priority', actions.priority) }));
      return out.join(', ');
    }
    function editMacro() {
      if (!state.previewed) return;
      body.value = state.previewed.body;
      saveDraft();
      dropMacro();
      body.focus();
    }
    function dropMacro() { macro.value = ''; changed(); }
    function saveDraft() { sessionStorage.setItem(draftKey(ref, 'body'), body.value); }

    function showFiles() {
      var list = Array.prototype.slice.call(files.files || []);
      state.chosen = list;
      var total = 0, problems = [];
      fill(fileList, list.map(function (f) {
        total += f.size;
        var bad = f.size > FILES.each ? t('reply.file_too_big', { max: size(FILES.each) }) : f.size === 0 ? t('reply.file_empty') : null;
        if (bad) problems.push(f.name);
        return h('li', { class: bad ? 'bad' : null }, f.name, h('span', { class: 'muted' }, ' · ' + size(f.size)), bad ? h('strong', null, ' ' + bad) : null);
      }));
      var msg = null;
      if (list.length > FILES.count) msg = t('reply.too_many_files', { n: FILES.count });
      else if (total > FILES.total) msg = t('reply.files_too_big', { max: size(FILES.total) });
      if (msg) fileList.appendChild(h('li', { class: 'bad' }, h('strong', null, msg)));
      return !msg && !problems.length;
    }
    function readFiles() {
      return Promise.all(state.chosen.map(function (f) {
        return new Promise(function (resolve, reject) {
          var r = new FileReader();
          r.onload = function () {
            var s = String(r.result), comma = s.indexOf(',');
            resolve({ filename: f.name, content_type: f.type || 'application/octet-stream', content_base64: s.slice(comma + 1) });
          };
          r.onerror = function () { reject(new S.ApiError(0, { message: t('reply.file_unreadable', { name: f.name }) })); };
          r.readAsDataURL(f);
        });
      }));
    }

    channel.addEventListener('change', changed);
    macro.addEventListener('change', changed);
    body.addEventListener('input', function () { saveDraft(); count(); });
    form.addEventListener('keydown', function (ev) { // Ctrl+Enter (⌘+Enter) sends
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !send.disabled) { ev.preventDefault(); form.requestSubmit(send); }
    });
    files.addEventListener('change', showFiles);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError(err);
      var req = { channel: channel.value || null };
      if (macro.value) req.macro = macro.value;
      else if (!body.value.trim()) { showError(err, { message: t('reply.empty') }); body.focus(); return; }
      else req.body = body.value;
      if (isSms() && !macro.value && S.smsSegments(body.value).segments > smsMax) {
        showError(err, { message: t('sms.too_long', { max: smsMax }) });
        return;
      }
      var withFiles = !isSms() && state.chosen.length;
      if (withFiles && !showFiles()) { showError(err, { message: t('reply.fix_files') }); return; }
      S.busy(form, true);
      (withFiles ? readFiles() : Promise.resolve(null)).then(function (attachments) {
        if (attachments) req.attachments = attachments;
        return S.api('POST', path(ticket(), '/replies'), req);
      }).then(function (r) {
        S.busy(form, false);
        if (!req.macro) { body.value = ''; sessionStorage.removeItem(draftKey(ref, 'body')); } // a macro's send keeps what was typed
        macro.value = ''; files.value = ''; state.chosen = []; S.clear(fileList);
        changed();
        S.toast(t('reply.queued', { channel: S.label('channel', r.channel), to: r.recipient || '' }));
        return ctx.reload(true);
      }, function (e) {
        S.busy(form, false);
        body.disabled = !!macro.value;
        if (e && e.status === 409) { showError(err, e, t('tk.changed_kept')); ctx.reload(); return; }
        showError(err, e, null, { body: t('reply.body'), channel: t('reply.channel'), macro: t('reply.macro'), attachments: t('reply.files') });
      });
    });
    form.updateChannels();
    return form;
  }

  // ---- the internal note --------------------------------------------------------------------
  function noteForm(ctx) {
    var note = h('textarea', { name: 'note', id: 'note-body', rows: 3, maxlength: 20000, placeholder: t('note.placeholder'),
      value: sessionStorage.getItem(draftKey(ctx.ref, 'note')) || '' });
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var form = h('form', { class: 'note card', novalidate: true },
      h('h2', null, h('label', { for: 'note-body' }, t('note.title'))),
      h('p', { class: 'muted small' }, t('note.hint')), note, err,
      h('div', { class: 'row' }, h('button', { type: 'submit' }, t('note.add'))));
    note.addEventListener('input', function () { sessionStorage.setItem(draftKey(ctx.ref, 'note'), note.value); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError(err);
      if (!note.value.trim()) { showError(err, { message: t('note.empty') }); note.focus(); return; }
      S.busy(form, true);
      S.api('POST', path(ctx.ticket, '/notes'), { body: note.value }).then(function () {
        S.busy(form, false);
        note.value = ''; sessionStorage.removeItem(draftKey(ctx.ref, 'note'));
        S.toast(t('note.added'));
        return ctx.reload(true);
      }, function (e) { S.busy(form, false); showError(err, e); });
    });
    return form;
  }

  // ---- properties ---------------------------------------------------------------------------
  function propsForm(ctx) {
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var status = h('select', { name: 'status', id: 'prop-status' });
    var priority = h('select', { name: 'priority', id: 'prop-priority' },
      ['low', 'normal', 'high', 'urgent'].map(function (p) { return h('option', { value: p }, S.label('priority', p)); }));
    var department = h('select', { name: 'department', id: 'prop-department' });
    var assignee = h('select', { name: 'assignee', id: 'prop-assignee' });
    var take = h('button', { type: 'button', class: 'take', onclick: function () { doTake(false); } }, t('props.take'));
    var force = h('div', { class: 'force', hidden: true });
    var form = h('form', { class: 'props card', novalidate: true },
      h('h2', null, t('props.title')),
      h('div', { class: 'props-grid' },
        h('p', { class: 'field' }, h('label', { for: 'prop-status' }, t('queue.status')), status),
        h('p', { class: 'field' }, h('label', { for: 'prop-priority' }, t('props.priority')), priority),
        h('p', { class: 'field' }, h('label', { for: 'prop-department' }, t('queue.department')), department),
        h('p', { class: 'field' }, h('label', { for: 'prop-assignee' }, t('queue.assignee')), assignee)),
      h('div', { class: 'row' }, take), force, err);
    var pending = false;
    form.addEventListener('submit', function (ev) { ev.preventDefault(); });

    function currentAssignee(tk) {
      if (!tk.assignee) return '';
      if (S.me && tk.assignee === S.me.principal) return 'me';
      var a = agentFor(tk.assignee);
      return a ? a.id : tk.assignee;
    }
    /* Show the ticket's values; a select the agent is in is left alone, unless `force` (after
     * their own change: the answer, or the latest values after a 409). */
    form.update = function (force) {
      var tk = ctx.ticket;
      if (pending) return;
      var focused = force ? null : document.activeElement;
      // status: new can be shown, not chosen
      if (focused !== status) {
        fill(status, (tk.status === 'new' ? ['new'] : []).concat(['open', 'pending', 'resolved', 'closed']).map(function (s) {
          return h('option', { value: s, disabled: s === 'new' }, S.label('status', s));
        }));
        status.value = tk.status;
      }
      if (focused !== priority) priority.value = tk.priority;
      if (focused !== department) {
        var depts = (S.departments || []).filter(function (d) { return d.active !== false || d.name === tk.department; });
        if (!depts.some(function (d) { return d.name === tk.department; })) depts.push({ name: tk.department });
        fill(department, depts.map(function (d) { return h('option', { value: d.name }, S.departmentLabel(d.name)); }));
        department.value = tk.department;
      }
      if (focused !== assignee) {
        var cur = currentAssignee(tk);
        var agents = (S.agentCards || []).filter(function (a) { return a.active !== false && !(S.me && a.id === S.me.id); });
        var opts = [h('option', { value: '' }, t('queue.nobody')),
          h('option', { value: 'me' }, t('props.me', { name: (S.me && (S.me.display_name || S.me.short_name)) || '' }))];
        agents.forEach(function (a) {
          opts.push(h('option', { value: a.id }, (a.display_name || a.short_name) + (a.away ? ' (' + t('props.away') + ')' : '')));
        });
        if (cur && cur !== 'me' && !agents.some(function (a) { return a.id === cur; })) {
          opts.push(h('option', { value: cur }, who(tk.assignee, tk)));
        }
        fill(assignee, opts);
        assignee.value = cur;
      }
      var mine = currentAssignee(tk) === 'me';
      take.hidden = mine || (!!tk.assignee && !S.isLead());
    };
    function patch(field, value) {
      var tk = ctx.ticket;
      var body = { version: tk.version };
      body[field] = value === '' ? null : value;
      clearError(err);
      pending = true;
      S.busy(form, true);
      return S.api('PATCH', path(tk), body).then(function (summary) {
        pending = false; S.busy(form, false);
        S.toast(t('props.saved'));
        Object.assign(ctx.ticket, summary);
        form.update(true);
        return ctx.reload(true);
      }, function (e) {
        pending = false; S.busy(form, false);
        if (e && e.status === 409) {
          S.toast(t('tk.changed'), 'error');
          showError(err, { message: t('tk.changed') });
        } else showError(err, e);
        form.update(true); // back to what the ticket says
        return ctx.reload().then(function () { form.update(true); });
      });
    }
    status.addEventListener('change', function () { patch('status', status.value); });
    priority.addEventListener('change', function () { patch('priority', priority.value); });
    department.addEventListener('change', function () { patch('department', department.value); });
    assignee.addEventListener('change', function () { patch('assignee', assignee.value); });
    function doTake(forced) {
      var tk = ctx.ticket;
      clearError(err);
      force.hidden = true;
      pending = true;
      S.busy(form, true);
      var body = { version: tk.version };
      if (forced) body.force = true;
      S.api('POST', path(tk, '/take'), body).then(function () {
        pending = false; S.busy(form, false);
        S.toast(t('props.taken'));
        return ctx.reload(true);
      }, function (e) {
        pending = false; S.busy(form, false);
        if (e && e.status === 409 && !forced && S.isLead() && tk.assignee && tk.assignee !== S.me.principal) {
          // someone else's: a lead or admin may take it anyway, after saying so
          fill(force, [h('p', null, t('props.take_from', { name: who(tk.assignee, tk) })),
            h('div', { class: 'row' },
              h('button', { type: 'button', class: 'danger take-force', onclick: function () { doTake(true); } }, t('props.take_anyway')),
              h('button', { type: 'button', onclick: function () { force.hidden = true; } }, t('cancel')))]);
          force.hidden = false;
          return;
        }
        if (e && e.status === 409) showError(err, { message: tk.assignee && tk.assignee !== S.me.principal
          ? t('props.not_yours', { name: who(tk.assignee, tk) }) : t('tk.changed') });
        else showError(err, e);
        ctx.reload();
      });
    }
    form.update();
    return form;
  }

  // ---- the customer -------------------------------------------------------------------------
  function customerBox(ctx) {
    var box = h('div', { class: 'customer card' });
    box.update = function () {
      var tk = ctx.ticket, c = tk.customer || {}, full = ctx.customer;
      var states = {};
      ((full && full.channels) || []).forEach(function (ch) { states[ch.address] = ch; });
      function address(a) {
        var st = states[a];
        var note = st && st.state !== 'ok' ? h('span', { class: 'badge breached' },
          S.label('tk.addr', st.state) + (st.at ? ' · ' + S.when(st.at, 'date') : '')) : null;
        return h('li', null, h('span', { class: 'addr' }, a), ' ', note);
      }
      var optOuts = Object.keys(c.opt_outs || (full && full.opted_out) || {});
      if (!optOuts.length && c.opted_out) optOuts = c.opted_out;
      var others = full && full.tickets ? (full.tickets.items || []).filter(function (x) { return x.id !== tk.id; }) : null;
      var key = JSON.stringify([c, full && full.channels, others && others.map(function (o) { return [o.ref, o.status, o.subject]; }),
        ctx.customerError ? 1 : 0, S.lang]);
      if (key === box.key) return; // unchanged: the box is not redrawn (nothing moves under a finger)
      box.key = key;
      fill(box, [
        h('h2', null, t('cust.title')),
        h('p', { class: 'name' }, h('strong', null, c.name || t('cust.no_name')),
          c.lang ? h('span', { class: 'muted' }, ' · ' + langName(c.lang)) : null),
        (c.emails || []).length ? h('div', null, h('h3', null, t('cust.emails')), h('ul', { class: 'addresses' }, c.emails.map(address))) : null,
        (c.phones || []).length ? h('div', null, h('h3', null, t('cust.phones')), h('ul', { class: 'addresses' }, c.phones.map(address))) : null,
        optOuts.length ? h('p', { class: 'opt-outs' }, h('strong', null, t('cust.opted_out')), ' ',
          optOuts.map(function (ch) {
            var o = (c.opt_outs || {})[ch] || {};
            return h('span', { class: 'badge breached' }, S.label('channel', ch) + (o.at ? ' · ' + S.when(o.at, 'date') : ''));
          })) : null,
        h('h3', null, t('cust.others')),
        others === null ? h('p', { class: 'muted small' }, ctx.customerError ? S.errorText(ctx.customerError) : t('loading'))
          : others.length ? h('ul', { class: 'other-tickets' }, others.map(function (o) {
            return h('li', null, refLink(o.ref), ' ', h('span', { class: 'pill status ' + o.status }, S.label('status', o.status)),
              ' ', h('span', { class: 'subject' }, o.subject || t('queue.no_subject')));
          })) : h('p', { class: 'muted small other-tickets' }, t('cust.no_others'))
      ]);
    };
    box.update();
    return box;
  }

  // ---- callback -----------------------------------------------------------------------------
  function callbackForm(ctx) {
    var at = h('input', { type: 'datetime-local', name: 'at', id: 'cb-at', required: true });
    var note = h('input', { type: 'text', name: 'note', id: 'cb-note', maxlength: 500 });
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var city = String(S.conf.timezone || '').split('/').pop().replace(/_/g, ' ');
    var form = h('form', { class: 'callback card', novalidate: true },
      h('h2', null, t('cb.title')),
      h('p', { class: 'field' }, h('label', { for: 'cb-at' }, t('cb.at', { zone: S.label('tk.city', city) })), at),
      h('p', { class: 'field' }, h('label', { for: 'cb-note' }, t('cb.note')), note),
      err, h('div', { class: 'row' }, h('button', { type: 'submit' }, t('cb.schedule'))));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError(err);
      if (!at.value) { showError(err, { message: t('cb.need_time') }); at.focus(); return; }
      var body = { at: at.value.replace('T', ' ').slice(0, 16) };
      if (note.value.trim()) body.note = note.value.trim();
      S.busy(form, true);
      S.api('POST', path(ctx.ticket, '/callbacks'), body).then(function (r) {
        S.busy(form, false);
        at.value = ''; note.value = '';
        S.toast(t('cb.done', { when: S.when(r.callback_at) }));
        return ctx.reload(true);
      }, function (e) { S.busy(form, false); showError(err, e); });
    });
    return form;
  }

  // ---- asking a lead to decide --------------------------------------------------------------
  function askForm(ctx) {
    var question = h('textarea', { name: 'question', id: 'ask-question', rows: 2, maxlength: 2000 });
    var approver = h('select', { name: 'approver', id: 'ask-approver' });
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var form = h('form', { class: 'ask-decision card', novalidate: true },
      h('h2', null, t('ask.title')),
      h('p', { class: 'muted small' }, t('ask.hint')),
      h('p', { class: 'field' }, h('label', { for: 'ask-question' }, t('ask.question')), question),
      h('p', { class: 'field' }, h('label', { for: 'ask-approver' }, t('ask.approver')), approver),
      err, h('div', { class: 'row' }, h('button', { type: 'submit' }, t('ask.send'))));
    form.update = function () {
      var tk = ctx.ticket;
      form.hidden = !!(tk.decision && tk.decision.state === 'requested') || tk.status === 'resolved' || tk.status === 'closed';
      if (document.activeElement === approver) return;
      var current = approver.value;
      fill(approver, [h('option', { value: '' }, t('ask.any'))].concat((S.agentCards || []).filter(function (a) {
        return a.active !== false && (a.role === 'lead' || a.role === 'admin') && a.principal && !(S.me && a.id === S.me.id);
      }).map(function (a) { return h('option', { value: a.principal }, (a.display_name || a.short_name) + ' · ' + S.label('role', a.role)); })));
      approver.value = current;
      approver.parentNode.hidden = approver.options.length < 2;
    };
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError(err);
      if (!question.value.trim()) { showError(err, { message: t('ask.empty') }); question.focus(); return; }
      var body = { question: question.value.trim() };
      if (approver.value) body.approver = approver.value;
      S.busy(form, true);
      S.api('POST', path(ctx.ticket, '/decisions'), body).then(function () {
        S.busy(form, false);
        question.value = '';
        S.toast(t('ask.done'));
        return ctx.reload(true);
      }, function (e) { S.busy(form, false); showError(err, e, null, { question: t('ask.question'), approver: t('ask.approver') }); });
    });
    form.update();
    return form;
  }

  // ---- merge --------------------------------------------------------------------------------
  function mergeForm(ctx) {
    var into = h('input', { type: 'text', name: 'into', id: 'merge-into', placeholder: '#1042', autocomplete: 'off',
      inputmode: 'numeric', maxlength: 64 });
    var err = h('p', { class: 'error', role: 'alert', hidden: true });
    var confirmBox = h('div', { class: 'confirm', hidden: true });
    var force = S.isLead() ? h('input', { type: 'checkbox', name: 'force', id: 'merge-force' }) : null;
    var start = h('button', { type: 'submit' }, t('merge.button'));
    var form = h('form', { class: 'merge card', novalidate: true },
      h('h2', null, t('merge.title')),
      h('p', { class: 'muted small' }, t('merge.hint')),
      h('p', { class: 'field' }, h('label', { for: 'merge-into' }, t('merge.into')), into),
      force ? h('p', { class: 'check' }, force, ' ', h('label', { for: 'merge-force' }, t('merge.force'))) : null,
      err, h('div', { class: 'row' }, start), confirmBox);
    function target() { return into.value.trim().replace(/^#/, ''); }
    into.addEventListener('input', function () { confirmBox.hidden = true; });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError(err);
      var other = target();
      if (!other) { showError(err, { message: t('merge.need_ref') }); into.focus(); return; }
      if (other === ctx.ticket.ref || other === ctx.ticket.id) { showError(err, { message: t('merge.self') }); return; }
      fill(confirmBox, [h('p', null, t('merge.confirm', { from: ctx.ticket.ref, into: other })),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'danger confirm-merge', onclick: go }, t('merge.yes')),
          h('button', { type: 'button', class: 'cancel', onclick: function () { confirmBox.hidden = true; } }, t('cancel')))]);
      confirmBox.hidden = false;
    });
    function go() {
      var body = { into: target(), version: ctx.ticket.version };
      if (force && force.checked) body.force = true;
      S.busy(form, true);
      S.api('POST', path(ctx.ticket, '/merge'), body).then(function (r) {
        S.busy(form, false);
        S.toast(t('merge.done', { into: r.ticket.ref }));
        S.go('tickets/' + encodeURIComponent(r.ticket.ref));
      }, function (e) {
        S.busy(form, false);
        confirmBox.hidden = true;
        showError(err, e, e && e.status === 409 ? t('tk.changed') : null);
        if (e && e.status === 409) ctx.reload();
      });
    }
    return form;
  }

  // ---- the page -----------------------------------------------------------------------------
  function render(params) {
    var ref = params[0];
    var ctx = { ref: ref, ticket: null, customer: null, customerError: null, loading: null };
    var headEl = h('div', { class: 'ticket-head' });
    var decisionBanner = h('div', { class: 'decision-banner', hidden: true });
    var timeline = h('ol', { class: 'timeline', 'aria-label': t('tk.timeline') });
    var stamp = '';
    var parts = {};

    function loadTicket() {
      return S.api('GET', '/tickets/' + encodeURIComponent(ref));
    }
    function loadCustomer() {
      var id = ctx.ticket && ctx.ticket.customer_id;
      if (!id) { ctx.customer = { tickets: { items: [] } }; return Promise.resolve(); }
      return S.api('GET', '/customers/' + encodeURIComponent(id)).then(function (c) {
        ctx.customer = c; ctx.customerError = null;
      }, function (e) { ctx.customerError = e; });
    }
    /* Read the ticket again and redraw what shows it (never the forms' typing). */
    ctx.reload = function (scroll) {
      if (ctx.loading) { // one read at a time; a reload asked for meanwhile reads again after it
        ctx.again = ctx.again || ctx.loading.then(function () { ctx.again = null; return ctx.reload(scroll); });
        return ctx.again;
      }
      ctx.loading = loadTicket().then(function (tk) {
        ctx.loading = null;
        ctx.ticket = tk;
        draw(scroll);
        return loadCustomer().then(function () { parts.customer.update(); });
      }, function (e) {
        ctx.loading = null;
        if (e && e.status !== 401) S.toast(S.errorText(e), 'error');
      });
      return ctx.loading;
    };
    function draw(scroll) {
      var tk = ctx.ticket;
      document.title = '#' + tk.ref + ' ' + (tk.subject || '') + ' · ' + t('brand');
      fill(headEl, head(tk));
      var dec = tk.decision;
      if (dec && dec.state === 'requested') {
        decisionBanner.hidden = false;
        fill(decisionBanner, [h('span', null, t('dec.banner', { q: dec.question })), ' ',
          S.dueBadge(dec.due_at, dec.overdue), ' ',
          h('button', { type: 'button', class: 'link', onclick: function () {
            var li = document.getElementById('decision-' + dec.id);
            if (li) li.scrollIntoView({ behavior: 'smooth', block: 'center' });
          } }, mayDecide(dec) ? t('dec.go_decide') : t('dec.go_see'))]);
      } else decisionBanner.hidden = true;
      var items = tk.timeline || [];
      var last = items.length ? items[items.length - 1] : null;
      var next = [tk.version, items.length, last ? last.sk + (last.status || '') : '',
        items.map(function (e) { return e.status || ''; }).join(''), dec ? dec.state : '', S.lang].join('|');
      if (next !== stamp) {
        var focus = document.activeElement;
        var typing = (timeline.contains(focus) && focus.matches('textarea, input, select')) ||
          Array.prototype.some.call(timeline.querySelectorAll('textarea'), function (x) { return x.value; });
        if (!typing) {
          stamp = next;
          fill(timeline, timelineItems(tk, ctx));
          if (scroll && timeline.lastElementChild) timeline.lastElementChild.scrollIntoView({ block: 'nearest' });
        }
      }
      if (parts.reply) parts.reply.updateChannels();
      if (parts.props) parts.props.update();
      if (parts.customer) parts.customer.update();
      if (parts.ask) parts.ask.update();
    }

    return Promise.all([loadTicket(), S.agentList(),
      S.api('GET', '/macros?limit=500').then(function (r) { return r.items || []; }, function () { return []; })])
      .then(function (r) {
        ctx.ticket = r[0];
        parts.reply = replyForm(ctx);
        parts.reply.setMacros(r[2]);
        parts.note = noteForm(ctx);
        parts.props = propsForm(ctx);
        parts.customer = customerBox(ctx);
        parts.callback = callbackForm(ctx);
        parts.ask = askForm(ctx);
        parts.merge = mergeForm(ctx);
        draw(false);
        loadCustomer().then(function () { parts.customer.update(); });
        S.every(REFRESH_MS, function () { if (!document.hidden) ctx.reload(); });
        return h('section', { class: 'ticket-page', 'data-ref': ctx.ticket.ref },
          h('p', { class: 'back' }, S.link('queue', '← ' + t('tk.back'))),
          headEl, decisionBanner,
          h('div', { class: 'ticket-body' },
            h('div', { class: 'ticket-main' },
              h('h2', { class: 'sr' }, t('tk.timeline')), timeline,
              h('div', { class: 'composer' }, parts.reply, parts.note)),
            h('aside', { class: 'ticket-side' }, parts.props, parts.customer, parts.callback, parts.ask, parts.merge)));
      }, function (e) {
        if (e && e.status === 404) {
          return h('section', { class: 'ticket-page missing', 'data-ref': ref },
            h('h1', null, '#' + ref), h('p', { class: 'error' }, t('tk.not_found', { ref: ref })),
            S.link('queue', t('tk.back')));
        }
        throw e;
      });
  }

  S.page('ticket', { match: /^tickets\/([^/]+)$/, title: 'ticket.title', render: render });

  S.strings({
    en: {
      'ticket.title': 'Ticket', 'tk.back': 'Back to the queue', 'tk.timeline': 'Timeline',
      'tk.not_found': 'There is no ticket #{ref}, or it is not in your departments.',
      'tk.customer': 'Customer', 'tk.setu': 'Setu', 'tk.setu_auto': 'Setu (automatic)', 'tk.you': 'You',
      'tk.assigned_to': 'Assigned to {name}', 'tk.unassigned': 'Unassigned', 'tk.opened': 'Opened {when}',
      'tk.breached': 'Breached', 'tk.breaches': 'SLA breached: {list}', 'tk.sla_paused': 'SLA paused',
      'tk.merged_into': 'This ticket was merged into', 'tk.note': 'Internal note',
      'tk.attachments': 'Attachments', 'tk.file': 'file', 'tk.kb': '{n} KB', 'tk.mb': '{n} MB',
      'tk.copied': 'Copied from a merged ticket', 'tk.show_all': 'Show all', 'tk.show_less': 'Show less', 'tk.macro_used': 'Sent with a macro', 'tk.macro_tag': 'Macro: {name}',
      'tk.segments_n': '{n} SMS segments', 'tk.segments_one': '1 SMS segment', 'tk.staff_mail': 'Staff mail to {to}: {subject}',
      'tk.changed': 'Someone else changed this ticket. It now shows the latest; try again.',
      'tk.changed_kept': 'Someone else changed this ticket; it was reloaded. Your text is kept: send it again.',
      'tk.target.first_response': 'First response', 'tk.target.next_reply': 'Next reply', 'tk.target.resolution': 'Resolution',
      'tk.kind.ack': 'Acknowledgement', 'tk.kind.reply': 'Reply', 'tk.kind.message': 'Message', 'tk.kind.notice': 'Notice',
      'tk.kind.decision': 'Decision notice', 'tk.kind.csat': 'Satisfaction survey', 'tk.kind.checkin': 'Check-in',
      'tk.kind.followup': 'Follow-up', 'tk.kind.opt_out': 'Opt-out', 'tk.kind.opt_in': 'Opt-in', 'tk.kind.started': 'First message',
      'tk.kind.help': 'Help reply', 'tk.kind.staff': 'Staff mail', 'tk.lang.bn': 'Bangla', 'tk.lang.en': 'English', 'tk.kind.autoreply': 'Automatic reply',
      'tk.mstatus.queued': 'Queued', 'tk.mstatus.sending': 'Sending', 'tk.mstatus.sent': 'Sent', 'tk.mstatus.delivered': 'Delivered',
      'tk.mstatus.failed': 'Failed', 'tk.mstatus.bounced': 'Bounced', 'tk.mstatus.held': 'Held', 'tk.mstatus.digest': 'In a digest',
      'tk.mstatus.suppressed': 'Not sent (address blocked)', 'tk.mstatus.recorded': 'Recorded',
      'tk.unlinked.another customer': "another customer's", 'tk.unlinked.not proven': 'not confirmed',
      'tk.addr.opted_out': 'Opted out', 'tk.addr.suppressed': 'Blocked', 'tk.city.Dhaka': 'Dhaka',
      'ev.created': 'Ticket opened via {channel} · {department}', 'ev.started': 'Conversation started by {channel}',
      'ev.split_from': 'split off from', 'ev.received': 'Message received ({channel})',
      'ev.sent': '{kind} sent ({channel})', 'ev.delivered': '{kind} delivered ({channel})',
      'ev.failed': 'Could not send ({channel}): {why}', 'ev.fallback': 'Sent by {to} instead of {from}: {why}',
      'ev.complaint': 'The customer marked an email as spam', 'ev.held': 'Message held for review',
      'ev.unassigned': 'Unassigned', 'ev.assigned': 'Assigned to {name}', 'ev.assigned_rr': 'Assigned to {name} (round robin)',
      'ev.took': '{name} took the ticket', 'ev.not_assigned': 'Nobody could be assigned: {why}',
      'ev.status': 'Status: {from} → {to}', 'ev.because_merged': '(merged)', 'ev.priority': 'Priority: {from} → {to}',
      'ev.department': 'Department: {from} → {to}', 'ev.merged_into': 'Merged into', 'ev.merged_here': 'was merged into this ticket',
      'ev.copied': '({n} items copied)', 'ev.split': 'A message was split off into',
      'ev.escalated': 'Escalated (level {level}, {target}) to {to}', 'ev.auto_closed': 'Closed automatically',
      'ev.sla_warning': '{target} due soon ({due})', 'ev.sla_breached': '{target} breached (was due {due})',
      'ev.sla_met': '{target} met in time', 'ev.sla_met_late': '{target} done, late',
      'ev.policy': 'SLA policy: {from} → {to}', 'ev.callback': 'Callback scheduled for {at}', 'ev.callback_due': 'Callback due ({at})',
      'ev.csat': 'Satisfaction rating: {score}', 'ev.csat_comment': 'Satisfaction comment:',
      'ev.followup_ok': 'The customer confirmed it is solved', 'ev.followup_reopened': 'The customer says it is not solved: reopened',
      'ev.opted_out': 'Opted out of SMS ({number}, "{word}")', 'ev.opted_in': 'Opted back in to SMS ({number}, "{word}")',
      'ev.unlinked': 'Addresses typed in the form, not linked to the customer: {list}',
      'ev.ack_failed': "The department's acknowledgement template failed; the built-in one was sent",
      'ev.notice_sent': 'The customer was told of the decision ({channel})', 'ev.notice_skipped': 'The customer could not be told of the decision',
      'dec.requested': 'Decision requested:', 'dec.due': 'due {when}', 'dec.approved': 'Approved', 'dec.rejected': 'Rejected',
      'dec.late': 'decided late', 'dec.reminded': 'Approvers reminded (reminder {n})', 'dec.overdue': 'Decision overdue: the admins were told',
      'dec.withdrawn': 'Decision withdrawn: the ticket was resolved or closed', 'dec.asked_by': 'Asked by {name}.',
      'dec.waiting': 'Waiting for a lead or an admin to decide.', 'dec.comment': 'Comment (internal)',
      'dec.message': 'Message for the customer (optional)', 'dec.approve': 'Approve', 'dec.reject': 'Reject',
      'dec.done_approved': 'Approved. The customer is being told.', 'dec.done_rejected': 'Rejected. The customer is being told.',
      'dec.banner': 'Decision waiting: “{q}”', 'dec.go_decide': 'Decide', 'dec.go_see': 'See it',
      'reply.title': 'Reply to the customer', 'reply.channel': 'Send by', 'reply.macro': 'Macro', 'reply.body': 'Your reply',
      'reply.placeholder': 'Write your reply…', 'reply.macro_chosen': 'The macro\'s text (below) is sent. To change it, use "Edit the text".', 'reply.no_macro': 'No macro: write it yourself', 'reply.no_macros': 'No macros yet',
      'reply.preview': 'Preview', 'reply.edit_macro': 'Edit the text', 'reply.drop_macro': 'Remove the macro',
      'reply.action_status': 'sets status {s}', 'reply.action_priority': 'sets priority {p}',
      'reply.files': 'Attachments (email)', 'reply.files_hint': 'Up to {n} files, {each} each, {total} in all.',
      'reply.file_too_big': 'larger than {max}', 'reply.file_empty': 'empty', 'reply.too_many_files': 'At most {n} files.',
      'reply.files_too_big': 'Together larger than {max}.', 'reply.fix_files': 'Some files cannot be sent; choose them again.',
      'reply.file_unreadable': 'Cannot read {name}.', 'reply.shortcut': 'Ctrl+Enter sends', 'reply.send': 'Send', 'reply.empty': 'Write a reply or choose a macro.',
      'reply.queued': 'Reply queued: {channel} to {to}', 'reply.nowhere': 'No channel can reach this customer (add an email or phone to the customer, or ask them to opt in again):',
      'reply.why_opted_out': 'opted out {when}', 'reply.no_channel': '(no channel can be used)', 'reply.why_no_phone': 'no phone number', 'reply.why_no_email': 'no email address',
      'reply.why_blocked': 'blocked ({why}) {when}', 'reply.why_unusable': 'cannot be used',
      'sms.count': '{chars} characters · {segments} segments', 'sms.count_unicode': '{chars} characters · {segments} segments (Unicode)',
      'sms.count_one': '{chars} characters · 1 segment', 'sms.count_unicode_one': '{chars} characters · 1 segment (Unicode)',
      'sms.too_long': 'Too long for SMS: at most {max} segments.',
      'note.title': 'Internal note', 'note.hint': 'Only agents see notes; the customer never does.', 'note.placeholder': 'Write a note for the team…',
      'note.add': 'Add note', 'note.empty': 'Write the note first.', 'note.added': 'Note added',
      'props.title': 'Properties', 'props.priority': 'Priority', 'props.take': 'Take it', 'props.me': 'Me ({name})', 'props.away': 'away',
      'props.saved': 'Saved', 'props.taken': 'The ticket is yours now', 'props.take_from': '{name} has this ticket. Take it from them?',
      'props.take_anyway': 'Take it anyway', 'props.not_yours': '{name} has this ticket; a lead or an admin can hand it over.',
      'cust.title': 'Customer', 'cust.no_name': '(no name)', 'cust.emails': 'Email', 'cust.phones': 'Phone',
      'cust.opted_out': 'Opted out:', 'cust.others': 'Other tickets', 'cust.no_others': 'No other tickets.',
      'cb.title': 'Callback', 'cb.at': 'When ({zone} time)', 'cb.note': 'Note (optional)', 'cb.schedule': 'Schedule callback',
      'cb.need_time': 'Choose the day and time.', 'cb.done': 'Callback scheduled for {when}',
      'ask.title': 'Ask for a decision', 'ask.hint': 'Something only a lead or an admin may allow (a refund above your limit, a replacement)? Ask here; they are reminded until they decide.',
      'ask.question': 'What should be decided?', 'ask.approver': 'Whom to ask', 'ask.any': 'The department\'s leads and the admins',
      'ask.send': 'Ask', 'ask.empty': 'Write the question first.', 'ask.done': 'Asked. You will hear when they decide.',
      'split.start': 'Split into a new ticket', 'split.confirm': 'Make this message a new ticket of the same customer?',
      'split.yes': 'Split', 'split.done': 'New ticket #{ref}',
      'merge.title': 'Merge', 'merge.hint': "Same request twice? Merge this ticket into the other: its timeline is copied there and this one is closed.",
      'merge.into': 'Into ticket', 'merge.force': 'The other ticket is another customer\'s: merge anyway', 'merge.button': 'Merge…',
      'merge.need_ref': 'Type the other ticket\'s number.', 'merge.self': 'That is this ticket.',
      'merge.confirm': 'Merge #{from} into #{into}? #{from} will be closed.', 'merge.yes': 'Yes, merge', 'merge.done': 'Merged into #{into}'
    },
    bn: {
      'ticket.title': 'টিকিট', 'tk.back': 'কিউতে ফিরুন', 'tk.timeline': 'টাইমলাইন',
      'tk.not_found': '#{ref} নম্বরের কোনো টিকিট নেই, অথবা এটি আপনার বিভাগের নয়।',
      'tk.customer': 'গ্রাহক', 'tk.setu': 'সেতু', 'tk.setu_auto': 'সেতু (স্বয়ংক্রিয়)', 'tk.you': 'আপনি',
      'tk.assigned_to': 'দায়িত্বে: {name}', 'tk.unassigned': 'কারও দায়িত্বে নেই', 'tk.opened': 'খোলা হয়েছে {when}',
      'tk.breached': 'সময় পেরিয়েছে', 'tk.breaches': 'এসএলএ-র সময় পেরিয়েছে: {list}', 'tk.sla_paused': 'এসএলএ থেমে আছে',
      'tk.merged_into': 'এই টিকিটটি একীভূত হয়েছে:', 'tk.note': 'অভ্যন্তরীণ নোট',
      'tk.attachments': 'সংযুক্তি', 'tk.file': 'ফাইল', 'tk.kb': '{n} কেবি', 'tk.mb': '{n} এমবি',
      'tk.copied': 'একীভূত টিকিট থেকে কপি করা', 'tk.show_all': 'পুরোটা দেখুন', 'tk.show_less': 'কম দেখুন', 'tk.macro_used': 'ম্যাক্রো দিয়ে পাঠানো', 'tk.macro_tag': 'ম্যাক্রো: {name}',
      'tk.segments_n': '{n}টি এসএমএস অংশ', 'tk.segments_one': '১টি এসএমএস অংশ', 'tk.staff_mail': 'এজেন্টকে মেইল ({to}): {subject}',
      'tk.changed': 'অন্য কেউ টিকিটটি বদলেছেন। সর্বশেষ অবস্থা দেখানো হচ্ছে; আবার চেষ্টা করুন।',
      'tk.changed_kept': 'অন্য কেউ টিকিটটি বদলেছেন; আবার লোড করা হয়েছে। আপনার লেখা রয়ে গেছে: আবার পাঠান।',
      'tk.target.first_response': 'প্রথম উত্তর', 'tk.target.next_reply': 'পরের উত্তর', 'tk.target.resolution': 'সমাধান',
      'tk.kind.ack': 'প্রাপ্তিস্বীকার', 'tk.kind.reply': 'উত্তর', 'tk.kind.message': 'বার্তা', 'tk.kind.notice': 'বিজ্ঞপ্তি',
      'tk.kind.decision': 'সিদ্ধান্তের বিজ্ঞপ্তি', 'tk.kind.csat': 'সন্তুষ্টি জরিপ', 'tk.kind.checkin': 'খোঁজখবর',
      'tk.kind.followup': 'ফলো-আপ', 'tk.kind.opt_out': 'এসএমএস বন্ধ', 'tk.kind.opt_in': 'এসএমএস চালু', 'tk.kind.started': 'প্রথম বার্তা',
      'tk.kind.help': 'সাহায্যের উত্তর', 'tk.kind.staff': 'এজেন্টদের মেইল', 'tk.lang.bn': 'বাংলা', 'tk.lang.en': 'ইংরেজি', 'tk.kind.autoreply': 'স্বয়ংক্রিয় উত্তর',
      'tk.mstatus.queued': 'সারিতে', 'tk.mstatus.sending': 'পাঠানো হচ্ছে', 'tk.mstatus.sent': 'পাঠানো হয়েছে', 'tk.mstatus.delivered': 'পৌঁছেছে',
      'tk.mstatus.failed': 'ব্যর্থ', 'tk.mstatus.bounced': 'ফেরত এসেছে', 'tk.mstatus.held': 'আটকে আছে', 'tk.mstatus.digest': 'সারসংক্ষেপে',
      'tk.mstatus.suppressed': 'পাঠানো হয়নি (ঠিকানা বন্ধ)', 'tk.mstatus.recorded': 'লিপিবদ্ধ',
      'tk.unlinked.another customer': 'অন্য গ্রাহকের', 'tk.unlinked.not proven': 'নিশ্চিত নয়',
      'tk.addr.opted_out': 'বন্ধ করেছেন', 'tk.addr.suppressed': 'বন্ধ', 'tk.city.Dhaka': 'ঢাকা',
      'ev.created': '{channel} থেকে টিকিট খোলা হয়েছে · {department}', 'ev.started': '{channel}-এ কথোপকথন শুরু হয়েছে',
      'ev.split_from': 'আলাদা করা হয়েছে এখান থেকে:', 'ev.received': 'বার্তা এসেছে ({channel})',
      'ev.sent': '{kind} পাঠানো হয়েছে ({channel})', 'ev.delivered': '{kind} পৌঁছেছে ({channel})',
      'ev.failed': 'পাঠানো যায়নি ({channel}): {why}', 'ev.fallback': '{from}-এর বদলে {to}-এ পাঠানো হয়েছে: {why}',
      'ev.complaint': 'গ্রাহক একটি ইমেইলকে স্প্যাম হিসেবে চিহ্নিত করেছেন', 'ev.held': 'বার্তাটি পর্যালোচনার জন্য আটকে রাখা হয়েছে',
      'ev.unassigned': 'দায়িত্ব সরানো হয়েছে', 'ev.assigned': '{name}-কে দায়িত্ব দেওয়া হয়েছে', 'ev.assigned_rr': 'পালাক্রমে {name}-কে দায়িত্ব দেওয়া হয়েছে',
      'ev.took': '{name} টিকিটটি নিয়েছেন', 'ev.not_assigned': 'কাউকে দায়িত্ব দেওয়া যায়নি: {why}',
      'ev.status': 'অবস্থা: {from} → {to}', 'ev.because_merged': '(একীভূত)', 'ev.priority': 'অগ্রাধিকার: {from} → {to}',
      'ev.department': 'বিভাগ: {from} → {to}', 'ev.merged_into': 'একীভূত হয়েছে:', 'ev.merged_here': 'এই টিকিটে একীভূত হয়েছে',
      'ev.copied': '({n}টি আইটেম কপি হয়েছে)', 'ev.split': 'একটি বার্তা আলাদা করে নতুন টিকিট:',
      'ev.escalated': 'এসকেলেট করা হয়েছে (ধাপ {level}, {target}): {to}', 'ev.auto_closed': 'স্বয়ংক্রিয়ভাবে বন্ধ হয়েছে',
      'ev.sla_warning': '{target}-এর সময় ঘনিয়ে এসেছে ({due})', 'ev.sla_breached': '{target}-এর সময় পেরিয়ে গেছে (সময়সীমা ছিল {due})',
      'ev.sla_met': '{target} সময়মতো হয়েছে', 'ev.sla_met_late': '{target} হয়েছে, তবে দেরিতে',
      'ev.policy': 'এসএলএ নীতি: {from} → {to}', 'ev.callback': 'কলব্যাক ঠিক হয়েছে: {at}', 'ev.callback_due': 'কলব্যাকের সময় হয়েছে ({at})',
      'ev.csat': 'সন্তুষ্টি রেটিং: {score}', 'ev.csat_comment': 'সন্তুষ্টি নিয়ে মন্তব্য:',
      'ev.followup_ok': 'গ্রাহক নিশ্চিত করেছেন যে সমাধান হয়েছে', 'ev.followup_reopened': 'গ্রাহক জানিয়েছেন সমাধান হয়নি: আবার খোলা হয়েছে',
      'ev.opted_out': 'এসএমএস বন্ধ করেছেন ({number}, "{word}")', 'ev.opted_in': 'আবার এসএমএস চালু করেছেন ({number}, "{word}")',
      'ev.unlinked': 'ফর্মে লেখা ঠিকানা গ্রাহকের সাথে যুক্ত হয়নি: {list}',
      'ev.ack_failed': 'বিভাগের প্রাপ্তিস্বীকার টেমপ্লেটে সমস্যা; সাধারণটি পাঠানো হয়েছে',
      'ev.notice_sent': 'গ্রাহককে সিদ্ধান্ত জানানো হয়েছে ({channel})', 'ev.notice_skipped': 'গ্রাহককে সিদ্ধান্ত জানানো যায়নি',
      'dec.requested': 'সিদ্ধান্ত চাওয়া হয়েছে:', 'dec.due': 'সময়সীমা {when}', 'dec.approved': 'অনুমোদিত', 'dec.rejected': 'নামঞ্জুর',
      'dec.late': 'দেরিতে সিদ্ধান্ত', 'dec.reminded': 'অনুমোদনকারীদের মনে করিয়ে দেওয়া হয়েছে ({n} বার)', 'dec.overdue': 'সিদ্ধান্তের সময় পেরিয়েছে: অ্যাডমিনদের জানানো হয়েছে',
      'dec.withdrawn': 'সিদ্ধান্তের অনুরোধ বাতিল: টিকিটটি সমাধান বা বন্ধ হয়েছে', 'dec.asked_by': 'অনুরোধ করেছেন {name}।',
      'dec.waiting': 'একজন লিড বা অ্যাডমিনের সিদ্ধান্তের অপেক্ষায়।', 'dec.comment': 'মন্তব্য (শুধু দলের জন্য)',
      'dec.message': 'গ্রাহকের জন্য বার্তা (ঐচ্ছিক)', 'dec.approve': 'অনুমোদন দিন', 'dec.reject': 'নামঞ্জুর করুন',
      'dec.done_approved': 'অনুমোদিত। গ্রাহককে জানানো হচ্ছে।', 'dec.done_rejected': 'নামঞ্জুর। গ্রাহককে জানানো হচ্ছে।',
      'dec.banner': 'সিদ্ধান্তের অপেক্ষায়: “{q}”', 'dec.go_decide': 'সিদ্ধান্ত দিন', 'dec.go_see': 'দেখুন',
      'reply.title': 'গ্রাহককে উত্তর দিন', 'reply.channel': 'যেভাবে পাঠাবেন', 'reply.macro': 'ম্যাক্রো', 'reply.body': 'আপনার উত্তর',
      'reply.placeholder': 'উত্তর লিখুন…', 'reply.macro_chosen': 'নিচের ম্যাক্রোর লেখাটি পাঠানো হবে। বদলাতে চাইলে "লেখাটি সম্পাদনা করুন" চাপুন।', 'reply.no_macro': 'ম্যাক্রো ছাড়া: নিজে লিখুন', 'reply.no_macros': 'এখনও কোনো ম্যাক্রো নেই',
      'reply.preview': 'প্রিভিউ', 'reply.edit_macro': 'লেখাটি সম্পাদনা করুন', 'reply.drop_macro': 'ম্যাক্রো সরান',
      'reply.action_status': 'অবস্থা হবে {s}', 'reply.action_priority': 'অগ্রাধিকার হবে {p}',
      'reply.files': 'সংযুক্তি (ইমেইল)', 'reply.files_hint': 'সর্বোচ্চ {n}টি ফাইল, প্রতিটি {each}, মোট {total}।',
      'reply.file_too_big': '{max}-এর বেশি', 'reply.file_empty': 'ফাঁকা ফাইল', 'reply.too_many_files': 'সর্বোচ্চ {n}টি ফাইল।',
      'reply.files_too_big': 'সব মিলিয়ে {max}-এর বেশি।', 'reply.fix_files': 'কিছু ফাইল পাঠানো যাবে না; আবার বেছে নিন।',
      'reply.file_unreadable': '{name} পড়া যাচ্ছে না।', 'reply.shortcut': 'Ctrl+Enter চাপলেও পাঠানো যায়', 'reply.send': 'পাঠান', 'reply.empty': 'উত্তর লিখুন অথবা একটি ম্যাক্রো বেছে নিন।',
      'reply.queued': 'উত্তর পাঠানোর সারিতে: {channel}, {to}', 'reply.nowhere': 'কোনো মাধ্যমেই এই গ্রাহকের কাছে পৌঁছানো যাচ্ছে না (গ্রাহকের ইমেইল বা ফোন যোগ করুন, অথবা তাঁকে আবার এসএমএস চালু করতে বলুন):',
      'reply.why_opted_out': '{when} থেকে বন্ধ', 'reply.no_channel': '(কোনো মাধ্যম ব্যবহার করা যাচ্ছে না)', 'reply.why_no_phone': 'ফোন নম্বর নেই', 'reply.why_no_email': 'ইমেইল ঠিকানা নেই',
      'reply.why_blocked': 'বন্ধ ({why}) {when}', 'reply.why_unusable': 'ব্যবহার করা যাবে না',
      'sms.count': '{chars} অক্ষর · {segments}টি অংশ', 'sms.count_unicode': '{chars} অক্ষর · {segments}টি অংশ (ইউনিকোড)',
      'sms.count_one': '{chars} অক্ষর · ১টি অংশ', 'sms.count_unicode_one': '{chars} অক্ষর · ১টি অংশ (ইউনিকোড)',
      'sms.too_long': 'এসএমএসের জন্য বেশি লম্বা: সর্বোচ্চ {max}টি অংশ।',
      'note.title': 'অভ্যন্তরীণ নোট', 'note.hint': 'নোট শুধু এজেন্টরা দেখেন; গ্রাহক কখনো দেখেন না।', 'note.placeholder': 'দলের জন্য নোট লিখুন…',
      'note.add': 'নোট যোগ করুন', 'note.empty': 'আগে নোটটি লিখুন।', 'note.added': 'নোট যোগ হয়েছে',
      'props.title': 'বৈশিষ্ট্য', 'props.priority': 'অগ্রাধিকার', 'props.take': 'আমি নেব', 'props.me': 'আমি ({name})', 'props.away': 'অনুপস্থিত',
      'props.saved': 'সংরক্ষণ হয়েছে', 'props.taken': 'টিকিটটি এখন আপনার', 'props.take_from': 'টিকিটটি {name}-এর দায়িত্বে। তাঁর কাছ থেকে নেবেন?',
      'props.take_anyway': 'তবুও নিন', 'props.not_yours': 'টিকিটটি {name}-এর দায়িত্বে; লিড বা অ্যাডমিন এটি হস্তান্তর করতে পারেন।',
      'cust.title': 'গ্রাহক', 'cust.no_name': '(নাম নেই)', 'cust.emails': 'ইমেইল', 'cust.phones': 'ফোন',
      'cust.opted_out': 'বন্ধ করেছেন:', 'cust.others': 'অন্যান্য টিকিট', 'cust.no_others': 'আর কোনো টিকিট নেই।',
      'cb.title': 'কলব্যাক', 'cb.at': 'কখন ({zone} সময়)', 'cb.note': 'নোট (ঐচ্ছিক)', 'cb.schedule': 'কলব্যাক ঠিক করুন',
      'cb.need_time': 'দিন ও সময় বেছে নিন।', 'cb.done': 'কলব্যাক ঠিক হয়েছে: {when}',
      'ask.title': 'সিদ্ধান্ত চান', 'ask.hint': 'যা শুধু লিড বা অ্যাডমিন অনুমোদন করতে পারেন (আপনার সীমার বেশি টাকা ফেরত, বদলে দেওয়া)? এখানে জানতে চান; সিদ্ধান্ত না দেওয়া পর্যন্ত তাঁদের মনে করিয়ে দেওয়া হবে।',
      'ask.question': 'কী বিষয়ে সিদ্ধান্ত দরকার?', 'ask.approver': 'কার কাছে', 'ask.any': 'বিভাগের লিড ও অ্যাডমিনরা',
      'ask.send': 'জানতে চান', 'ask.empty': 'আগে প্রশ্নটি লিখুন।', 'ask.done': 'অনুরোধ পাঠানো হয়েছে। সিদ্ধান্ত হলে আপনাকে জানানো হবে।',
      'split.start': 'আলাদা টিকিট করুন', 'split.confirm': 'এই বার্তাটি দিয়ে একই গ্রাহকের নতুন টিকিট খুলবেন?',
      'split.yes': 'আলাদা করুন', 'split.done': 'নতুন টিকিট #{ref}',
      'merge.title': 'একীভূত করুন', 'merge.hint': 'একই অনুরোধ দুবার এসেছে? এই টিকিটটি অন্যটিতে একীভূত করুন: এর টাইমলাইন সেখানে কপি হবে এবং এটি বন্ধ হবে।',
      'merge.into': 'যে টিকিটে', 'merge.force': 'অন্য টিকিটটি অন্য গ্রাহকের: তবুও একীভূত করুন', 'merge.button': 'একীভূত করুন…',
      'merge.need_ref': 'অন্য টিকিটের নম্বর লিখুন।', 'merge.self': 'এটি তো এই টিকিটই।',
      'merge.confirm': '#{from}-কে #{into}-এ একীভূত করবেন? #{from} বন্ধ হয়ে যাবে।', 'merge.yes': 'হ্যাঁ, একীভূত করুন', 'merge.done': '#{into}-এ একীভূত হয়েছে'
    }
  });
})();
