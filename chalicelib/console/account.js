/* The person's own account (/console/account): language (the console's, and the one staff mail
 * is written in: PATCH /agents/{id} lang), away, staff mail preferences (GET/PUT
 * /me/notifications), password (Cognito ChangePassword), an authenticator app (TOTP:
 * AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference) and signing out on every
 * device (GlobalSignOut). Cognito calls carry the access token; it is refreshed first. */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;
  var KINDS = ['assigned', 'customer_replied', 'callback_due', 'sla_warning', 'decision_requested',
    'decision_decided', 'escalation'];

  function accessToken() {
    return S.idToken().then(function () {
      var s = S.session();
      if (!s || !s.access) throw new S.ApiError(401, { message: t('signin.expired') });
      return s.access;
    });
  }
  function result(form, text, ok) {
    var slot = form.querySelector('.result') || form.appendChild(h('p', { class: 'result' }));
    slot.className = 'result ' + (ok ? 'notice' : 'error');
    slot.setAttribute('role', ok ? 'status' : 'alert');
    slot.textContent = text;
  }
  function cognitoError(err) {
    if (err && err.code === 'NotAuthorizedException') return t('account.wrong_password');
    if (err && err.code === 'InvalidPasswordException') return t('signin.weak', { n: S.PASSWORD_MIN });
    if (err && (err.code === 'CodeMismatchException' || err.code === 'EnableSoftwareTokenMFAException')) return t('signin.bad_code');
    if (err && err.code === 'LimitExceededException') return t('signin.slow_down');
    return (err && err.message) || t('error.generic');
  }

  function profile(me) {
    var lang = h('select', { name: 'lang' }, ['bn', 'en'].map(function (l) {
      return h('option', { value: l, selected: (me.lang || S.lang) === l }, l === 'bn' ? 'বাংলা' : 'English');
    }));
    var away = h('input', { type: 'checkbox', name: 'away', id: 'a-away', checked: me.away });
    var f = h('form', { class: 'card profile' }, h('h2', null, t('account.profile')),
      h('p', null, h('strong', null, me.display_name || me.short_name), ' · ', S.label('role', me.role),
        me.email ? ' · ' + me.email : ''),
      S.field(t('account.lang'), lang),
      h('p', { class: 'row' }, away, h('label', { for: 'a-away' }, t('account.away'))),
      h('p', { class: 'muted' }, t('account.away_help')),
      h('button', { type: 'submit', class: 'primary' }, t('save')));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      S.api('PATCH', '/agents/' + me.id, { lang: lang.value, away: away.checked, version: me.version })
        .then(function (saved) {
          S.me = Object.assign(S.me, saved);
          if (lang.value !== S.lang) S.setLang(lang.value); else result(f, t('account.saved'), true);
        }, function (err) { result(f, S.errorText(err), false); });
    });
    return f;
  }

  function notifications(prefs) {
    var boxes = KINDS.map(function (k) {
      return h('p', { class: 'row' }, h('input', { type: 'checkbox', name: 'kinds', value: k, id: 'n-' + k,
        checked: (prefs.kinds || []).indexOf(k) >= 0 }), h('label', { for: 'n-' + k }, t('notify.' + k)));
    });
    var quiet = !!prefs.quiet_hours;
    var start = h('input', { type: 'time', name: 'quiet_start', value: quiet ? prefs.quiet_hours.start : '22:00' });
    var end = h('input', { type: 'time', name: 'quiet_end', value: quiet ? prefs.quiet_hours.end : '08:00' });
    var on = h('input', { type: 'checkbox', name: 'quiet', id: 'n-quiet', checked: quiet });
    var digest = h('input', { type: 'number', name: 'digest_after', min: 0, max: 100, value: prefs.digest_after });
    var f = h('form', { class: 'card notifications' }, h('h2', null, t('account.notifications')),
      h('fieldset', null, h('legend', null, t('account.kinds')), boxes),
      h('p', { class: 'row' }, on, h('label', { for: 'n-quiet' }, t('account.quiet'))),
      h('div', { class: 'row' }, S.field(t('account.from'), start), S.field(t('account.to'), end)),
      S.field(t('account.digest_after'), digest),
      h('button', { type: 'submit', class: 'primary' }, t('save')));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = { kinds: boxes.map(function (p) { return p.querySelector('input'); })
        .filter(function (i) { return i.checked; }).map(function (i) { return i.value; }),
        quiet_hours: on.checked ? { start: start.value, end: end.value } : null,
        digest_after: parseInt(digest.value, 10) || 0 };
      S.api('PUT', '/me/notifications', body).then(function () { result(f, t('account.saved'), true); },
        function (err) { result(f, S.errorText(err), false); });
    });
    return f;
  }

  function password() {
    var old = h('input', { type: 'password', name: 'old_password', autocomplete: 'current-password', required: true });
    var neu = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: S.PASSWORD_MIN });
    var f = h('form', { class: 'card password' }, h('h2', null, t('account.password')),
      S.field(t('account.old_password'), old), S.field(t('signin.new_password'), neu),
      h('button', { type: 'submit', class: 'primary' }, t('account.change_password')));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      accessToken().then(function (access) {
        return S.cognito('ChangePassword', { AccessToken: access, PreviousPassword: old.value, ProposedPassword: neu.value });
      }).then(function () { old.value = ''; neu.value = ''; result(f, t('account.password_changed'), true); },
        function (err) { result(f, cognitoError(err), false); });
    });
    return f;
  }

  function authenticator() {
    var box = h('div', { class: 'card mfa' }, h('h2', null, t('account.mfa')), h('p', { class: 'muted' }, t('account.mfa_help')));
    var start = h('button', { type: 'button' }, t('account.mfa_start'));
    var off = h('button', { type: 'button', class: 'danger' }, t('account.mfa_off'));
    box.appendChild(h('p', { class: 'row' }, start, off));
    start.addEventListener('click', function () {
      accessToken().then(function (access) {
        return S.cognito('AssociateSoftwareToken', { AccessToken: access });
      }).then(function (r) {
        var who = (S.session() || {}).username || 'setu';
        var uri = 'otpauth://totp/' + encodeURIComponent('Setu:' + who) + '?secret=' + r.SecretCode + '&issuer=Setu';
        var code = h('input', { name: 'mfa_code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
        var f = h('form', { class: 'mfa-verify' },
          h('p', null, t('account.mfa_key')), h('p', null, h('code', { class: 'secret' }, r.SecretCode)),
          h('p', { class: 'muted' }, h('a', { href: uri }, t('account.mfa_link'))),
          S.field(t('signin.mfa_code'), code), h('button', { type: 'submit', class: 'primary' }, t('signin.mfa_submit')));
        f.addEventListener('submit', function (e) {
          e.preventDefault();
          accessToken().then(function (access) {
            return S.cognito('VerifySoftwareToken', { AccessToken: access, UserCode: code.value.trim(), FriendlyDeviceName: 'Setu' })
              .then(function () {
                return S.cognito('SetUserMFAPreference', { AccessToken: access,
                  SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
              });
          }).then(function () { result(f, t('account.mfa_on'), true); }, function (err) { result(f, cognitoError(err), false); });
        });
        var old = box.querySelector('.mfa-verify');
        if (old) old.remove();
        box.appendChild(f);
        code.focus();
      }, function (err) { result(box, cognitoError(err), false); });
    });
    off.addEventListener('click', function () {
      if (!confirm(t('account.mfa_off_confirm'))) return;
      accessToken().then(function (access) {
        return S.cognito('SetUserMFAPreference', { AccessToken: access, SoftwareTokenMfaSettings: { Enabled: false, PreferredMfa: false } });
      }).then(function () { result(box, t('account.mfa_is_off'), true); }, function (err) { result(box, cognitoError(err), false); });
    });
    return box;
  }

  function everywhere() {
    var b = h('button', { type: 'button', class: 'danger' }, t('account.everywhere'));
    var box = h('div', { class: 'card sessions' }, h('h2', null, t('account.sessions')), h('p', { class: 'muted' }, t('account.everywhere_help')), b);
    b.addEventListener('click', function () {
      accessToken().then(function (access) { return S.cognito('GlobalSignOut', { AccessToken: access }); })
        .then(function () { S.forget(); S.go('signin'); }, function (err) { result(box, cognitoError(err), false); });
    });
    return box;
  }

  S.page('account', { title: 'nav.account', render: function () {
    return Promise.all([S.api('GET', '/me'), S.api('GET', '/me/notifications')]).then(function (r) {
      S.me = Object.assign(S.me || {}, r[0]);
      return h('section', { class: 'account-page' }, h('h1', null, t('nav.account')),
        profile(r[0]), notifications(r[1]), password(), authenticator(), everywhere());
    });
  } });

  S.strings({
    en: {
      'account.profile': 'You', 'account.lang': 'Language (the console and your staff mail)',
      'account.away': 'Away (no new tickets are given to me)', 'account.away_help': 'Round-robin skips you while you are away; your open tickets stay yours.',
      'account.saved': 'Saved.', 'account.notifications': 'Staff mail', 'account.kinds': 'Mail me when',
      'notify.assigned': 'a ticket is assigned to me', 'notify.customer_replied': 'a customer replies on my ticket',
      'notify.callback_due': 'a callback is due', 'notify.sla_warning': 'an SLA is about to be missed',
      'notify.decision_requested': 'a decision is asked of me', 'notify.decision_decided': 'my decision request is decided',
      'notify.escalation': 'a ticket is escalated to me',
      'account.quiet': 'Quiet hours (mail waits for one digest)', 'account.from': 'From', 'account.to': 'To',
      'account.digest_after': 'Single mails per 15 minutes before a digest',
      'account.password': 'Password', 'account.old_password': 'Current password', 'account.change_password': 'Change password',
      'account.password_changed': 'Your password is changed.', 'account.wrong_password': 'The current password is wrong.',
      'account.mfa': 'Authenticator app', 'account.mfa_help': 'Ask for a code from an authenticator app (Google Authenticator, Microsoft Authenticator, 2FAS…) at every sign-in.',
      'account.mfa_start': 'Set up an authenticator', 'account.mfa_off': 'Turn it off',
      'account.mfa_key': 'Add this key to your authenticator app (or open the link on your phone), then type the code it shows:',
      'account.mfa_link': 'Open in the authenticator app', 'account.mfa_on': 'Authenticator on: you will be asked for a code when you sign in.',
      'account.mfa_off_confirm': 'Turn the authenticator off?', 'account.mfa_is_off': 'Authenticator off.',
      'account.sessions': 'Sessions', 'account.everywhere': 'Sign out on every device',
      'account.everywhere_help': 'Use this if you signed in on a phone or computer you no longer have.'
    },
    bn: {
      'account.profile': 'আপনি', 'account.lang': 'ভাষা (কনসোল ও আপনার স্টাফ মেইল)',
      'account.away': 'অনুপস্থিত (আমাকে নতুন টিকিট দেওয়া হবে না)', 'account.away_help': 'অনুপস্থিত থাকলে পালাক্রমে বণ্টনে আপনাকে বাদ দেওয়া হয়; আপনার খোলা টিকিট আপনারই থাকে।',
      'account.saved': 'সংরক্ষিত হয়েছে।', 'account.notifications': 'স্টাফ মেইল', 'account.kinds': 'আমাকে মেইল করুন যখন',
      'notify.assigned': 'আমাকে কোনো টিকিট দেওয়া হয়', 'notify.customer_replied': 'আমার টিকিটে গ্রাহক উত্তর দেন',
      'notify.callback_due': 'কলব্যাকের সময় হয়', 'notify.sla_warning': 'এসএলএ পেরিয়ে যাওয়ার উপক্রম হয়',
      'notify.decision_requested': 'আমার কাছে সিদ্ধান্ত চাওয়া হয়', 'notify.decision_decided': 'আমার চাওয়া সিদ্ধান্ত হয়ে যায়',
      'notify.escalation': 'কোনো টিকিট আমার কাছে এসকেলেট হয়',
      'account.quiet': 'নীরব সময় (মেইল একটি সারসংক্ষেপে জমা থাকে)', 'account.from': 'শুরু', 'account.to': 'শেষ',
      'account.digest_after': 'সারসংক্ষেপের আগে ১৫ মিনিটে আলাদা মেইলের সংখ্যা',
      'account.password': 'পাসওয়ার্ড', 'account.old_password': 'বর্তমান পাসওয়ার্ড', 'account.change_password': 'পাসওয়ার্ড বদলান',
      'account.password_changed': 'আপনার পাসওয়ার্ড বদলানো হয়েছে।', 'account.wrong_password': 'বর্তমান পাসওয়ার্ডটি ভুল।',
      'account.mfa': 'অথেনটিকেটর অ্যাপ', 'account.mfa_help': 'প্রতিবার সাইন ইনে অথেনটিকেটর অ্যাপ (Google Authenticator, Microsoft Authenticator, 2FAS…) থেকে কোড চাওয়া হবে।',
      'account.mfa_start': 'অথেনটিকেটর চালু করুন', 'account.mfa_off': 'বন্ধ করুন',
      'account.mfa_key': 'এই কী-টি অথেনটিকেটর অ্যাপে যোগ করুন (অথবা ফোনে লিংকটি খুলুন), তারপর অ্যাপের দেখানো কোড লিখুন:',
      'account.mfa_link': 'অথেনটিকেটর অ্যাপে খুলুন', 'account.mfa_on': 'অথেনটিকেটর চালু: সাইন ইনের সময় কোড চাওয়া হবে।',
      'account.mfa_off_confirm': 'অথেনটিকেটর বন্ধ করবেন?', 'account.mfa_is_off': 'অথেনটিকেটর বন্ধ।',
      'account.sessions': 'সেশন', 'account.everywhere': 'সব ডিভাইস থেকে সাইন আউট',
      'account.everywhere_help': 'যে ফোন বা কম্পিউটার আর আপনার কাছে নেই, সেখানে সাইন ইন করা থাকলে এটি ব্যবহার করুন।'
    }
  });
})();
