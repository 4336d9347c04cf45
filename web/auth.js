// Operator page, sessions: sign-in (with the TOTP code when the account
// has one), the first administrator's setup, the TOTP enrolment that a
// role can require, and sign-out. The daemon keeps the session in an
// HttpOnly cookie, so this script never reads the token. It requests
// /api/v1/auth/me to learn whether a session exists. Loaded after app.js, whose
// api(), openViewer() and closeViewer() it uses.
'use strict';

// phase: 'out' (a form shows), 'enrol' (signed in, but the role requires
// TOTP enrolment first) or 'in' (the viewer shows).
const session = { phase: 'out', qrUrl: null, throttleTimer: null };

const PANELS = ['sign-in', 'setup', 'enrol'];

// Shows the panel with this id and hides the others, or hides all for
// null.
function showPanel(id) {
  for (const panel of PANELS) $(panel).hidden = panel !== id;
}

// Writes text into the message element id, styled as an error or as a
// neutral note.
function setMessage(id, text, kind = 'error') {
  const element = $(id);
  element.textContent = text;
  element.className = kind;
}

function setBusy(form, busy) {
  form.querySelector('button[type="submit"]').disabled = busy;
}

// Posts JSON to a sign-in or setup route and returns { status, body,
// retryAfterS }, because the caller shows its own message for each
// status. Throws only when the daemon cannot be reached.
async function postAuth(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = parseJson(await response.text());
  let retryAfterS = Number(response.headers.get('Retry-After'));
  if (parsed && Number.isFinite(parsed.retry_after_s)) {
    retryAfterS = parsed.retry_after_s;
  }
  return { status: response.status, body: parsed, retryAfterS };
}

function showAccount(user) {
  $('user-name').textContent = user;
  $('account').hidden = false;
}

// Leaves every signed-in view: the viewer, the enrolment step and the
// user's name in the header.
function leaveSession() {
  session.phase = 'out';
  closeViewer();
  clearEnrolment();
  $('account').hidden = true;
  $('user-name').textContent = '';
}

// Called by api() on any 401: the session expired, was ended elsewhere
// (a password change ends them all) or the daemon restarted with a new
// database. The page returns to the sign-in form.
function sessionEnded() {
  if (session.phase === 'out') return;
  leaveSession();
  showSignIn('Your session has ended: sign in again.');
}

// ---- Sign-in ----------------------------------------------------------

function showSignIn(message, kind = 'error') {
  const form = $('login-form');
  showPanel('sign-in');
  form.password.value = '';
  form.totp_code.value = '';
  $('totp-field').hidden = true;
  setMessage('login-message', message, kind);
  (form.username.value ? form.password : form.username).focus();
}

// Disables the sign-in button for the daemon's Retry-After and counts
// down in the message.
function waitAfterThrottle(seconds) {
  const form = $('login-form');
  const until = Date.now() + Math.max(1, seconds) * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(session.throttleTimer);
      session.throttleTimer = null;
      setBusy(form, false);
      setMessage('login-message', 'You can try again now.', 'note');
      return;
    }
    setMessage('login-message', 'Too many failed sign-ins: wait ' + left +
               ' s before the next try.');
  };
  clearInterval(session.throttleTimer);
  setBusy(form, true);
  tick();
  session.throttleTimer = setInterval(tick, 1000);
}

// Acts on the response of POST /api/v1/auth/login.
function handleLogin(result) {
  const form = $('login-form');
  const { status, body } = result;
  if (status === 200) {
    form.password.value = '';
    form.totp_code.value = '';
    $('totp-field').hidden = true;
    setMessage('login-message', '');
    enterSession(true);
    return;
  }
  showPanel('sign-in');
  if (status === 401 && body && body.totp_required) {
    $('totp-field').hidden = false;
    form.totp_code.focus();
    setMessage('login-message', 'This account has a second factor: enter ' +
               'the 6-digit code from your authenticator app, or one of ' +
               'your recovery codes.', 'note');
  } else if (status === 401) {
    form.password.value = '';
    form.totp_code.value = '';
    form.password.focus();
    setMessage('login-message', 'Wrong user name, password or code.');
  } else if (status === 429) {
    waitAfterThrottle(result.retryAfterS || 1);
  } else if (status === 503) {
    setMessage('login-message', 'The directory server (LDAP) cannot be ' +
               'reached: try again later, or sign in with a local account.');
  } else {
    setMessage('login-message', 'Sign-in failed: ' +
               (body && body.error ? body.error : 'HTTP ' + status) + '.');
  }
}

async function submitLogin(event) {
  event.preventDefault();
  const form = event.target;
  const request = { username: form.username.value,
                    password: form.password.value };
  const code = form.totp_code.value.replace(/\s+/g, '');
  if (!$('totp-field').hidden && code) request.totp_code = code;
  setBusy(form, true);
  setMessage('login-message', 'Signing in...', 'note');
  let result;
  try {
    result = await postAuth('/api/v1/auth/login', request);
  } catch (err) {
    setBusy(form, false);
    setMessage('login-message', 'Cannot reach the daemon: ' + err.message);
    return;
  }
  if (result.status !== 429) setBusy(form, false);
  handleLogin(result);
}

// Opens what the current session allows: the enrolment step when the
// role requires TOTP and the user has none yet, else the viewer. Without
// a session it shows the sign-in form. afterLogin separates a cookie
// lost right after a successful login from a plain signed-out visit.
async function enterSession(afterLogin) {
  let me;
  try {
    me = await api('/api/v1/auth/me');
  } catch (err) {
    if (err.status === 401 && afterLogin) {
      showSignIn('The daemon accepted the sign-in, but the browser did not ' +
                 'keep the session cookie: allow cookies for this site.');
    } else if (err.status === 401) {
      showSignIn('');
    } else {
      showSignIn('Cannot reach the daemon: ' + err.message + '.');
    }
    return;
  }
  showAccount(me.user);
  if (me.totp_enrol_required) {
    startEnrolment();
    return;
  }
  session.phase = 'in';
  showPanel(null);
  openViewer();
}

// ---- First start ------------------------------------------------------

function showSetup() {
  showPanel('setup');
  setMessage('setup-message', '');
  $('setup-form').token.focus();
}

async function submitSetup(event) {
  event.preventDefault();
  const form = event.target;
  if (form.password.value !== form.repeat.value) {
    setMessage('setup-message', 'The two passwords differ: type the same ' +
               'password twice.');
    form.repeat.focus();
    return;
  }
  const request = { token: form.token.value.trim(),
                    username: form.username.value,
                    password: form.password.value };
  setBusy(form, true);
  setMessage('setup-message', 'Creating the administrator...', 'note');
  let result;
  try {
    result = await postAuth('/api/v1/auth/setup', request);
  } catch (err) {
    setBusy(form, false);
    setMessage('setup-message', 'Cannot reach the daemon: ' + err.message);
    return;
  }
  setBusy(form, false);
  const { status, body } = result;
  if (status === 201) {
    form.reset();
    $('login-form').username.value = request.username;
    await signInAfterSetup(request.username, request.password);
  } else if (status === 403) {
    form.token.focus();
    setMessage('setup-message', 'Wrong or already used setup token: copy ' +
               'it from the line "setup token: ..." that vmsd printed on ' +
               'its standard error at its latest start.');
  } else if (status === 409) {
    form.reset();
    showSignIn('An administrator exists already: sign in.', 'note');
  } else {
    setMessage('setup-message', 'The administrator was not created: ' +
               (body && body.error ? body.error : 'HTTP ' + status) + '.');
  }
}

// Signs in with the credentials just set up, so that the administrator
// need not type them again.
async function signInAfterSetup(username, password) {
  let result;
  try {
    result = await postAuth('/api/v1/auth/login', { username, password });
  } catch (err) {
    showSignIn('The administrator was created, but the sign-in failed: ' +
               err.message + '. Sign in.');
    return;
  }
  handleLogin(result);
}

// ---- TOTP enrolment ---------------------------------------------------

function clearEnrolment() {
  if (session.qrUrl) URL.revokeObjectURL(session.qrUrl);
  session.qrUrl = null;
  $('totp-qr').removeAttribute('src');
  $('totp-secret').textContent = '';
  $('recovery-codes').replaceChildren();
  $('totp-form').reset();
  setMessage('enrol-message', '');
}

// Starts the enrolment: the daemon creates a pending secret and renders
// its QR code as SVG, which the page shows through a blob: URL in an
// <img>, where the SVG cannot run scripts or load anything.
async function startEnrolment() {
  session.phase = 'enrol';
  clearEnrolment();
  showPanel('enrol');
  $('enrol-start').hidden = false;
  $('recovery').hidden = true;
  let enrolment;
  try {
    enrolment = await api('/api/v1/auth/totp/enrol', { method: 'POST' });
  } catch (err) {
    if (err.status !== 401) {
      setMessage('enrol-message', 'Cannot start the enrolment: ' +
                 err.message + '. Reload the page to try again.');
    }
    return;
  }
  if (session.phase !== 'enrol') return;
  const svg = new Blob([enrolment.qr_svg], { type: 'image/svg+xml' });
  session.qrUrl = URL.createObjectURL(svg);
  $('totp-qr').src = session.qrUrl;
  // Groups of four characters are easier to type into an app.
  $('totp-secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ')
    .trim();
  $('totp-form').code.focus();
}

async function confirmTotp(event) {
  event.preventDefault();
  const form = event.target;
  const code = form.code.value.replace(/\s+/g, '');
  setBusy(form, true);

  let result;
  try {
    result = await api('/api/v1/auth/totp/confirm', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch (err) {
    setBusy(form, false);
    if (err.status !== 401) {
      form.code.select();
      setMessage('enrol-message', 'The code was not accepted: ' +
                 err.message + '.');
    }
    return;
  }
  setBusy(form, false);
  if (session.phase !== 'enrol') return;

  // The secret is in the app now: take it off the screen.
  const codes = result.recovery_codes;
  clearEnrolment();
  for (const recoveryCode of codes) {
    const item = document.createElement('li');
    item.textContent = recoveryCode;
    $('recovery-codes').append(item);
  }
  $('enrol-start').hidden = true;
  $('recovery').hidden = false;
  $('enrol-done').focus();
}

function finishEnrolment() {
  clearEnrolment();
  enterSession(false);
}

// ---- Sign-out ---------------------------------------------------------

async function signOut() {
  leaveSession();
  let message = 'Signed out.';
  let kind = 'note';
  try {
    const response = await fetch('/api/v1/auth/logout', { method: 'POST' });
    // 401: the session had ended already, which is the goal.
    if (!response.ok && response.status !== 401) {
      message = 'The daemon did not end the session (HTTP ' +
        response.status + '): close the browser to drop it.';
      kind = 'error';
    }
  } catch (err) {
    message = 'Cannot reach the daemon to end the session (' + err.message +
      '): close the browser to drop it.';
    kind = 'error';
  }
  showSignIn(message, kind);
}

$('login-form').addEventListener('submit', submitLogin);
$('setup-form').addEventListener('submit', submitSetup);
$('totp-form').addEventListener('submit', confirmTotp);
$('show-setup').addEventListener('click', showSetup);
$('show-sign-in').addEventListener('click', () => showSignIn(''));
$('enrol-done').addEventListener('click', finishEnrolment);
$('sign-out').addEventListener('click', signOut);
enterSession(false);
