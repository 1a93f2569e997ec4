/* Sign-in (docs/console.md, "How people sign in"): email and password (Cognito's
 * USER_PASSWORD_AUTH over HTTPS), then whatever Cognito asks: a new password on the first
 * sign-in (NEW_PASSWORD_REQUIRED), the authenticator code when TOTP is on (SOFTWARE_TOKEN_MFA).
 * "Forgot your password?" sends a code by email (ForgotPassword / ConfirmForgotPassword).
 * Contract: inputs named username and password, and a submit button. */
(function () {
  'use strict';
  var S = window.Setu, h = S.h, t = S.t;

  function field(name, label, attrs) {
    return S.field(label, h('input', Object.assign({ name: name, required: true }, attrs || {})));
  }
  function explain(err) {
    var code = err && err.code;
    if (code === 'NotAuthorizedException') {
      return /disabled/i.test(err.message || '') ? t('signin.disabled') : t('signin.wrong');
    }
    if (code === 'UserNotFoundException') return t('signin.wrong');
    if (code === 'PasswordResetRequiredException') return t('signin.reset_required');
    if (code === 'InvalidPasswordException') return t('signin.weak', { n: S.PASSWORD_MIN });
    if (code === 'CodeMismatchException' || code === 'ExpiredCodeException') return t('signin.bad_code');
    if (code === 'LimitExceededException' || code === 'TooManyRequestsException') return t('signin.slow_down');
    if (code === 'NetworkError') return t('error.network');
    return (err && err.message) || t('error.generic');
  }
  function done(result, username) {
    S.saveTokens(result, username);
    var next = sessionStorage.getItem('setu.next') || 'queue';
    sessionStorage.removeItem('setu.next');
    if (next === 'signin' || next.indexOf('signin') === 0) next = 'queue';
    S.go(next, true);
  }
  /* The answer of InitiateAuth or RespondToAuthChallenge: tokens, or the next challenge. */
  function answer(box, r, username) {
    if (r.AuthenticationResult) return done(r.AuthenticationResult, username);
    if (r.ChallengeName === 'NEW_PASSWORD_REQUIRED') return newPassword(box, r, username);
    if (r.ChallengeName === 'SOFTWARE_TOKEN_MFA') return mfaCode(box, r, username);
    show(box, form(box, {}), S.h('p', { class: 'error', role: 'alert' }, t('signin.unsupported', { c: r.ChallengeName })));
  }
  function show(box) {
    S.clear(box);
    for (var i = 1; i < arguments.length; i++) S.append(box, arguments[i]);
    var first = box.querySelector('input');
    if (first) first.focus();
  }
  function failed(formEl, err) {
    S.busy(formEl, false);
    var slot = formEl.querySelector('.error') || formEl.insertBefore(h('p', { class: 'error', role: 'alert' }), formEl.firstChild);
    slot.textContent = explain(err);
  }

  function form(box, prefill) {
    var f = h('form', { class: 'card signin', method: 'post', action: '#', novalidate: false },
      h('h1', null, t('signin.title')),
      prefill.notice ? h('p', { class: 'notice', role: 'status' }, prefill.notice) : null,
      field('username', t('signin.email'), { type: 'email', autocomplete: 'username', value: prefill.username || '', autofocus: true }),
      field('password', t('signin.password'), { type: 'password', autocomplete: 'current-password' }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin.submit'))),
      h('p', null, h('button', { type: 'button', class: 'link', onclick: function () {
        forgot(box, f.username.value.trim());
      } }, t('signin.forgot'))));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      var username = f.username.value.trim();
      S.busy(f, true);
      S.cognito('InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: S.conf.clientId,
        AuthParameters: { USERNAME: username, PASSWORD: f.password.value } })
        .then(function (r) { answer(box, r, username); }, function (err) { failed(f, err); });
    });
    return f;
  }
  function newPassword(box, challenge, username) {
    var f = h('form', { class: 'card signin', method: 'post', action: '#' },
      h('h1', null, t('signin.new_title')), h('p', null, t('signin.new_help')),
      field('new_password', t('signin.new_password'), { type: 'password', autocomplete: 'new-password', minlength: S.PASSWORD_MIN }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin.new_submit'))));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      S.busy(f, true);
      S.cognito('RespondToAuthChallenge', { ChallengeName: 'NEW_PASSWORD_REQUIRED', ClientId: S.conf.clientId,
        Session: challenge.Session, ChallengeResponses: { USERNAME: (challenge.ChallengeParameters || {}).USER_ID_FOR_SRP || username,
          NEW_PASSWORD: f.new_password.value } })
        .then(function (r) { answer(box, r, username); }, function (err) { failed(f, err); });
    });
    show(box, f);
  }
  function mfaCode(box, challenge, username) {
    var f = h('form', { class: 'card signin', method: 'post', action: '#' },
      h('h1', null, t('signin.mfa_title')),
      field('code', t('signin.mfa_code'), { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6 }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin.mfa_submit'))));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      S.busy(f, true);
      S.cognito('RespondToAuthChallenge', { ChallengeName: 'SOFTWARE_TOKEN_MFA', ClientId: S.conf.clientId,
        Session: challenge.Session, ChallengeResponses: { USERNAME: (challenge.ChallengeParameters || {}).USER_ID_FOR_SRP || username,
          SOFTWARE_TOKEN_MFA_CODE: f.code.value.trim() } })
        .then(function (r) { answer(box, r, username); }, function (err) { failed(f, err); });
    });
    show(box, f);
  }
  function forgot(box, username) {
    var f = h('form', { class: 'card signin', method: 'post', action: '#' },
      h('h1', null, t('signin.forgot_title')), h('p', null, t('signin.forgot_help')),
      field('username', t('signin.email'), { type: 'email', autocomplete: 'username', value: username || '' }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin.forgot_submit')),
        ' ', h('button', { type: 'button', class: 'link', onclick: function () { show(box, form(box, {})); } }, t('cancel'))));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = f.username.value.trim();
      S.busy(f, true);
      // the pool prevents user-existence errors: the answer is the same for any address
      S.cognito('ForgotPassword', { ClientId: S.conf.clientId, Username: name })
        .then(function () { reset(box, name); }, function (err) { failed(f, err); });
    });
    show(box, f);
  }
  function reset(box, username) {
    var f = h('form', { class: 'card signin', method: 'post', action: '#' },
      h('h1', null, t('signin.reset_title')), h('p', { role: 'status' }, t('signin.reset_help')),
      field('code', t('signin.reset_code'), { inputmode: 'numeric', autocomplete: 'one-time-code' }),
      field('new_password', t('signin.new_password'), { type: 'password', autocomplete: 'new-password', minlength: S.PASSWORD_MIN }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin.reset_submit'))));
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      S.busy(f, true);
      S.cognito('ConfirmForgotPassword', { ClientId: S.conf.clientId, Username: username,
        ConfirmationCode: f.code.value.trim(), Password: f.new_password.value })
        .then(function () { show(box, form(box, { username: username, notice: t('signin.reset_done') })); },
              function (err) { failed(f, err); });
    });
    show(box, f);
  }

  S.page('signin', { public: true, bare: true, title: 'signin.title', render: function () {
    if (S.session()) { S.go('queue', true); return h('p', null, t('loading')); }
    var box = h('div', { class: 'signin-box' });
    var notice = sessionStorage.getItem('setu.next') ? t('signin.please') : null;
    show(box, h('p', { class: 'brand-big' }, t('brand')), form(box, { notice: notice }));
    return box;
  } });

  S.strings({
    en: {
      'signin.title': 'Sign in', 'signin.email': 'Email', 'signin.password': 'Password',
      'signin.submit': 'Sign in', 'signin.forgot': 'Forgot your password?',
      'signin.please': 'Sign in to continue.',
      'signin.wrong': 'Wrong email or password.', 'signin.disabled': 'This account is switched off. Ask an admin.',
      'signin.reset_required': 'Your password must be reset: use "Forgot your password?".',
      'signin.weak': 'That password is too weak: at least {n} characters, with upper and lower case letters and a digit.',
      'signin.bad_code': 'That code is wrong or has expired.', 'signin.slow_down': 'Too many tries. Wait a few minutes.',
      'signin.unsupported': 'This sign-in step ({c}) is not supported here. Ask an admin.',
      'signin.new_title': 'Choose your password', 'signin.new_help': 'This is your first sign-in: choose a password of your own.',
      'signin.new_password': 'New password', 'signin.new_submit': 'Save and sign in',
      'signin.mfa_title': 'Authenticator code', 'signin.mfa_code': 'The 6-digit code from your authenticator app',
      'signin.mfa_submit': 'Verify',
      'signin.forgot_title': 'Reset your password', 'signin.forgot_help': 'We will email you a code.',
      'signin.forgot_submit': 'Send the code',
      'signin.reset_title': 'Enter the code', 'signin.reset_help': 'If the address has an account, a code is on its way by email.',
      'signin.reset_code': 'Code', 'signin.reset_submit': 'Set the new password',
      'signin.reset_done': 'Your password is changed. Sign in with it.'
    },
    bn: {
      'signin.title': 'সাইন ইন', 'signin.email': 'ইমেইল', 'signin.password': 'পাসওয়ার্ড',
      'signin.submit': 'সাইন ইন', 'signin.forgot': 'পাসওয়ার্ড ভুলে গেছেন?',
      'signin.please': 'চালিয়ে যেতে সাইন ইন করুন।',
      'signin.wrong': 'ইমেইল বা পাসওয়ার্ড ভুল।', 'signin.disabled': 'এই অ্যাকাউন্টটি বন্ধ। একজন অ্যাডমিনকে বলুন।',
      'signin.reset_required': 'আপনার পাসওয়ার্ড রিসেট করতে হবে: "পাসওয়ার্ড ভুলে গেছেন?" ব্যবহার করুন।',
      'signin.weak': 'পাসওয়ার্ডটি দুর্বল: অন্তত {n} অক্ষর দিন, তাতে বড় ও ছোট হাতের অক্ষর এবং একটি সংখ্যা থাকবে।',
      'signin.bad_code': 'কোডটি ভুল বা মেয়াদোত্তীর্ণ।', 'signin.slow_down': 'অনেকবার চেষ্টা হয়েছে। কয়েক মিনিট অপেক্ষা করুন।',
      'signin.unsupported': 'এই সাইন-ইন ধাপ ({c}) এখানে চলে না। একজন অ্যাডমিনকে বলুন।',
      'signin.new_title': 'আপনার পাসওয়ার্ড বেছে নিন', 'signin.new_help': 'এটি আপনার প্রথম সাইন ইন: নিজের একটি পাসওয়ার্ড দিন।',
      'signin.new_password': 'নতুন পাসওয়ার্ড', 'signin.new_submit': 'সংরক্ষণ করে সাইন ইন',
      'signin.mfa_title': 'অথেনটিকেটর কোড', 'signin.mfa_code': 'অথেনটিকেটর অ্যাপের ৬ অঙ্কের কোড',
      'signin.mfa_submit': 'যাচাই করুন',
      'signin.forgot_title': 'পাসওয়ার্ড রিসেট', 'signin.forgot_help': 'আমরা ইমেইলে একটি কোড পাঠাব।',
      'signin.forgot_submit': 'কোড পাঠান',
      'signin.reset_title': 'কোডটি লিখুন', 'signin.reset_help': 'ঠিকানাটির অ্যাকাউন্ট থাকলে ইমেইলে একটি কোড যাচ্ছে।',
      'signin.reset_code': 'কোড', 'signin.reset_submit': 'নতুন পাসওয়ার্ড দিন',
      'signin.reset_done': 'পাসওয়ার্ড বদলানো হয়েছে। নতুনটি দিয়ে সাইন ইন করুন।'
    }
  });
})();
