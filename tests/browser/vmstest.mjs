// Helpers for the browser tests: the real daemon (vmsd), the RTSP test
// camera, and three browsers. Debian's Chromium is driven through
// playwright-core, Firefox ESR through puppeteer-core (WebDriver BiDi)
// and WebKitGTK through WebKitWebDriver.
//
// Every process a test starts is stopped by PID when the test ends, and
// every temporary directory (data directory, browser profile) is removed,
// even when the test fails or the runner is sent SIGTERM or SIGINT.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const SOURCE = process.env.VMS_SOURCE_DIR ||
  path.resolve(HERE, '..', '..');
export const BUILD = process.env.VMS_BUILD_DIR || path.join(SOURCE, 'build');
export const VMSD = process.env.VMSD ||
  path.join(BUILD, 'src', 'vmsd', 'vmsd');
export const FAKE_CAMERA = process.env.FAKE_CAMERA ||
  path.join(BUILD, 'tests', 'fixtures', 'fake-camera', 'fake-camera');
// H.264 with AAC audio, 768x432 at 12.5 frames/s, a keyframe every 4.8 s.
export const FOOTAGE = path.join(SOURCE, 'tests', 'data', 'car-detection.mp4');
// H.264 only, 768x432 at 10 frames/s, a keyframe every second.
export const FOOTAGE_ONE_SECOND_GOP = path.join(
  SOURCE, 'tests', 'data', 'one-by-one-person-detection.mp4');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER ||
  '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER ||
  '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB = '/usr/bin/Xvfb';

const INSTALL_HINT = 'run scripts/install-browser-deps.sh from the source ' +
  'tree, then run the tests again';

// The browser must not reach any host but 127.0.0.1, so every other host
// fails with ERR_NAME_NOT_RESOLVED: host names and IP address literals
// alike (Chromium 156 rejects both localhost and 127.0.0.2 this way).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

// Firefox preferences. Every host but 127.0.0.1 (which Firefox never
// sends to a proxy) goes to a proxy on 127.0.0.1 port 9, where nothing
// listens, so the browser reaches no other host. JSON opens as plain
// text, so a player page can start from a daemon URL as in Chromium.
const FIREFOX_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.socks': '127.0.0.1',
  'network.proxy.socks_port': 9,
  'network.proxy.socks_remote_dns': true,
  'devtools.jsonview.enabled': false,
};

// Chromium's console message for an HTTP error response.
const FAILED_RESOURCE =
  /^Failed to load resource: the server responded with a status of (\d+)/;

// Loads playwright-core from tests/browser/node_modules. A missing
// install fails the test with the command that fixes it, never a skip.
async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (err) {
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.error('playwright-core is not installed in ' + HERE +
                  '/node_modules: ' + INSTALL_HINT + '.');
    process.exit(1);
  }
}

const playwright = await loadPlaywright();

for (const [program, file] of [['vmsd', VMSD], ['fake-camera', FAKE_CAMERA],
                               ['chromium', CHROMIUM]]) {
  if (!fs.existsSync(file)) {
    const hint = program === 'chromium' ? INSTALL_HINT :
      'build the project first or set VMS_BUILD_DIR to its build directory';
    console.error(`${program} not found at ${file}: ${hint}.`);
    process.exit(1);
  }
}

// Children and temporary directories still alive, for the signal handler.
const liveChildren = new Set();
const liveDirs = new Set();

function killEverythingNow() {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // The child has already exited.
    }
  }
  for (const dir of liveDirs) {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

// playwright-core kills the browser in its own 'exit' handler, so exiting
// here also ends Chromium.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`received ${signal}: stopping the test processes`);
    killEverythingNow();
    process.exit(1);
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Calls predicate every intervalMs until it returns a truthy value and
// returns that value. Throws after timeoutMs, naming what was awaited.
export async function waitFor(predicate, timeoutMs, what, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await predicate();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ` +
                  `${what}; last value: ${String(last)}`);
}

// Returns the median of values in whole milliseconds, or "no samples".
export function medianMs(values) {
  if (!values.length) return 'no samples';
  const sorted = [...values].sort((a, b) => a - b);
  return `${Math.round(sorted[Math.floor(sorted.length / 2)])} ms`;
}

// Waits until the video's currentTime, read by state() in the page of
// target (a page or a browser wrapper with evaluate()), has advanced by
// seconds. description names the wait in the timeout error. Returns the
// last state.
export async function waitAdvance(target, state, seconds, description) {
  const start = await target.evaluate(state);
  return waitFor(async () => {
    const now = await target.evaluate(state);
    return now.currentTime - start.currentTime >= seconds && now;
  }, 30000, description);
}

// Returns a TCP port that is free on 127.0.0.1 right now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A child process whose stdout and stderr go to a log file.
class Child {
  constructor(name, args, logPath, env = process.env) {
    this.name = name;
    this.logPath = logPath;
    this.logFd = fs.openSync(logPath, 'a');
    this.stdoutText = '';
    this.process = spawn(args[0], args.slice(1), {
      stdio: ['ignore', 'pipe', this.logFd],
      env,
    });
    this.pid = this.process.pid;
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        liveChildren.delete(this);
        resolve({ code, signal });
      });
    });
    this.process.stdout.on('data', (chunk) => {
      this.stdoutText += chunk.toString();
      fs.writeSync(this.logFd, chunk);
    });
    this.process.once('error', (err) => {
      fs.writeSync(this.logFd, `failed to start ${args[0]}: ${err}\n`);
    });
    liveChildren.add(this);
  }

  alive() {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  output() {
    return fs.readFileSync(this.logPath, 'utf8');
  }

  // Sends SIGTERM to the PID and waits up to timeoutMs, then SIGKILL.
  // Returns { code, signal } of the exit.
  async stop(timeoutMs = 20000) {
    if (this.alive()) {
      process.kill(this.pid, 'SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs, null);
      });
      const status = await Promise.race([this.exited, timeout]);
      clearTimeout(timer);
      if (status === null) {
        fs.writeSync(this.logFd, `${this.name} ignored SIGTERM for ` +
                     `${timeoutMs / 1000} s: sending SIGKILL\n`);
        process.kill(this.pid, 'SIGKILL');
      }
    }
    const status = await this.exited;
    fs.closeSync(this.logFd);
    return status;
  }
}

// The RTSP test camera on a free loopback port. Its url field is the URL
// of the main stream.
export class FakeCamera extends Child {
  static async start(workdir, name = 'camera', footage = FOOTAGE) {
    const camera = new FakeCamera(
      name, [FAKE_CAMERA, '--file', footage, '--port', '0'],
      path.join(workdir, name + '.log'));
    const match = await waitFor(
      () => /ready (rtsp:\/\/\S+)/.exec(camera.stdoutText) ||
        (!camera.alive() && 'exited'),
      10000, 'the test camera to print its ready line');
    if (match === 'exited') {
      throw new Error('test camera exited:\n' + camera.output());
    }
    camera.url = match[1];
    return camera;
  }
}

// The administrator that Daemon.start() creates through the first-start
// setup. The password meets the daemon's policy: at least 12 characters,
// without the user name.
export const ADMIN = Object.freeze({ username: 'admin',
                                     password: 'browser-test-passphrase' });

// Returns the name and value of the session cookie in a response's
// Set-Cookie headers, or null without one.
function sessionCookie(response) {
  for (const header of response.headers.getSetCookie()) {
    const match = /^\s*([^=;\s]+)=([^;]*)/.exec(header);
    if (match && match[2]) return { name: match[1], value: match[2] };
  }
  return null;
}

// vmsd with its own port, data directory and configuration file. With
// setup (the default), start() also creates ADMIN through the setup
// token and signs the helper in with a bearer token, so that request()
// is authenticated. Without it the daemon has no user yet, and its
// setupToken is unused.
export class Daemon extends Child {
  static async start(workdir, { segmentSeconds = 60, setup = true } = {}) {
    const port = await freePort();
    const dataDir = path.join(workdir, 'data');
    const conf = path.join(workdir, 'vms.conf');
    fs.writeFileSync(conf, [
      `listen = 127.0.0.1:${port}`,
      `data_dir = ${dataDir}`,
      `volume = ${path.join(dataDir, 'video')}`,
      `segment_seconds = ${segmentSeconds}`,
      `web_root = ${path.join(SOURCE, 'web')}`,
      'retry_max_seconds = 4',
      'log_level = debug',
      '',
    ].join('\n'));
    const daemon = new Daemon('vmsd', [VMSD, '-c', conf],
                              path.join(workdir, 'vmsd.log'));
    daemon.port = port;
    daemon.origin = `http://127.0.0.1:${port}`;
    daemon.dataDir = dataDir;
    daemon.token = null;
    const up = await waitFor(async () => {
      if (!daemon.alive()) return 'exited';
      try {
        return (await fetch(daemon.origin + '/api/v1/health')).ok;
      } catch {
        return false;
      }
    }, 10000, 'vmsd to answer /api/v1/health');
    if (up === 'exited') throw new Error('vmsd exited:\n' + daemon.output());
    // vmsd prints the one-time token on standard error, which goes to
    // the log file, while no administrator exists.
    const match = await waitFor(
      () => /^setup token: (\S+)$/m.exec(daemon.output()), 5000,
      'vmsd to print "setup token: ..." on standard error');
    daemon.setupToken = match[1];
    if (setup) {
      const created = await daemon.request('POST', '/api/v1/auth/setup', {
        token: daemon.setupToken, ...ADMIN });
      if (created.status !== 201) {
        throw new Error(`setup of ${ADMIN.username} failed: ` +
                        `${created.status} ${JSON.stringify(created.body)}`);
      }
      const login = await daemon.login(ADMIN, { bearer: true });
      if (login.status !== 200) {
        throw new Error(`bearer login of ${ADMIN.username} failed: ` +
                        `${login.status} ${JSON.stringify(login.body)}`);
      }
      daemon.token = login.body.token;
    }
    return daemon;
  }

  // Sends a JSON request and returns { status, body }. It carries the
  // helper's bearer token unless options.token replaces it (null sends
  // no credential).
  async request(method, urlPath, body, { token = this.token } = {}) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    if (token) options.headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.origin + urlPath, options);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  // Logs in with POST /api/v1/auth/login. Returns { status, body,
  // cookie }: cookie is the session cookie's { name, value } on success.
  async login({ username, password }, extra = {}) {
    const response = await fetch(this.origin + '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password, ...extra }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null,
             cookie: sessionCookie(response) };
  }

  async addCamera(name, url) {
    const { status, body } = await this.request(
      'POST', '/api/v1/cameras', { name, main_url: url });
    if (status !== 201) {
      throw new Error(`camera create failed: ${status} ` +
                      JSON.stringify(body));
    }
    return body.id;
  }

  async waitStreaming(cameraId, timeoutMs) {
    return waitFor(async () => {
      const { body } = await this.request('GET', `/api/v1/cameras/${cameraId}`);
      const main = body && body.streams && body.streams.main;
      return main && main.state === 'streaming';
    }, timeoutMs, `camera ${cameraId} to be streaming`);
  }
}

// Debian's Chromium with a fresh profile in a temporary directory. The
// listeners record what the page logs and every request it makes.
export class Browser {
  static async launch() {
    const browser = new Browser();
    browser.profileDir = fs.mkdtempSync(path.join(os.tmpdir(),
                                                  'vms-chromium-'));
    liveDirs.add(browser.profileDir);
    browser.context = await playwright.chromium.launchPersistentContext(
      browser.profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        viewport: { width: 1280, height: 800 },
      });
    browser.pageErrors = [];
    browser.consoleErrors = [];
    browser.consoleErrorLocations = [];
    browser.requests = [];
    browser.webSockets = [];
    browser.context.on('request', (request) => {
      browser.requests.push(request.url());
    });
    browser.context.on('console', (message) => {
      if (message.type() === 'error') {
        const where = message.location();
        browser.consoleErrors.push(`${message.text()} (${where.url}:` +
                                   `${where.lineNumber})`);
        browser.consoleErrorLocations.push({ text: message.text(),
                                             url: where.url });
      }
    });
    browser.context.on('weberror', (webError) => {
      browser.pageErrors.push(String(webError.error()));
    });
    browser.page = browser.context.pages()[0] ||
      await browser.context.newPage();
    browser.page.on('websocket', (ws) => browser.webSockets.push(ws.url()));
    return browser;
  }

  // Returns the URLs of the requests and WebSockets of the page that went
  // to an origin other than the daemon's.
  foreignRequests(daemon) {
    const http = this.requests.filter(
      (url) => new URL(url).origin !== daemon.origin);
    const sockets = this.webSockets.filter(
      (url) => new URL(url).origin !== `ws://127.0.0.1:${daemon.port}`);
    return [...http, ...sockets];
  }

  // Returns the console errors, like consoleErrors, without Chromium's
  // "Failed to load resource" lines for the [status, path] pairs in
  // expected. The page causes some on purpose: a signed-out visit gets
  // 401 from /api/v1/auth/me, a wrong password 401 from the login.
  unexpectedConsoleErrors(expected = []) {
    return this.consoleErrors.filter((line, i) => {
      const { text, url } = this.consoleErrorLocations[i];
      const failed = FAILED_RESOURCE.exec(text);
      if (!failed || !url) return true;
      const pathname = new URL(url).pathname;
      return !expected.some(([status, path]) =>
        Number(failed[1]) === status && pathname === path);
    });
  }

  // Gives the browser a session of user without the sign-in form: logs
  // in from the test and adds the session cookie to the browser context,
  // as the page's own sign-in would.
  async signIn(daemon, user = ADMIN) {
    const { status, body, cookie } = await daemon.login(user);
    if (status !== 200 || !cookie) {
      throw new Error(`login of ${user.username} failed: ${status} ` +
                      JSON.stringify(body));
    }
    await this.context.addCookies([{
      name: cookie.name, value: cookie.value, url: daemon.origin,
      httpOnly: true, sameSite: 'Strict',
    }]);
  }

  // Opens the operator page and signs in through its form. Returns once
  // the viewer shows.
  async signInWithForm(daemon, user = ADMIN) {
    const page = this.page;
    await page.goto(daemon.origin + '/');
    await page.locator('#login-form').waitFor({ state: 'visible',
                                                timeout: 10000 });
    await page.fill('#login-form input[name="username"]', user.username);
    await page.fill('#login-form input[name="password"]', user.password);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#app').waitFor({ state: 'visible', timeout: 15000 })
      .catch(async (err) => {
        const message = await page.textContent('#login-message');
        throw new Error(`the viewer did not show after sign-in ` +
                        `(message: "${message}"): ${err.message}`);
      });
  }

  async close() {
    await this.context.close().catch(() => {});
    fs.rmSync(this.profileDir, { recursive: true, force: true,
                                 maxRetries: 5 });
    liveDirs.delete(this.profileDir);
  }
}

// Debian's Firefox ESR with a fresh profile, driven by puppeteer-core
// over WebDriver BiDi. The listeners record page errors, console errors
// and every request the page makes.
export class Firefox {
  static async launch() {
    let puppeteer;
    try {
      puppeteer = (await import('puppeteer-core')).default;
    } catch (err) {
      if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      throw new Error('puppeteer-core is not installed in ' + HERE +
                      '/node_modules: ' + INSTALL_HINT);
    }
    if (!fs.existsSync(FIREFOX)) {
      throw new Error(`firefox not found at ${FIREFOX}: ${INSTALL_HINT}`);
    }
    const firefox = new Firefox();
    firefox.profileDir = fs.mkdtempSync(path.join(os.tmpdir(),
                                                  'vms-firefox-'));
    liveDirs.add(firefox.profileDir);
    firefox.browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      userDataDir: firefox.profileDir,
      extraPrefsFirefox: FIREFOX_PREFS,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    firefox.process = { pid: firefox.browser.process().pid };
    liveChildren.add(firefox.process);
    firefox.pageErrors = [];
    firefox.consoleErrors = [];
    firefox.requests = [];
    firefox.page = await firefox.browser.newPage();
    await firefox.page.setViewport({ width: 1280, height: 800 });
    firefox.page.on('request', (request) => {
      firefox.requests.push(request.url());
    });
    firefox.page.on('console', (message) => {
      if (message.type() === 'error') {
        firefox.consoleErrors.push(message.text());
      }
    });
    firefox.page.on('pageerror', (error) => {
      firefox.pageErrors.push(String(error));
    });
    return firefox;
  }

  async goto(url) {
    await this.page.goto(url);
  }

  async evaluate(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  // Opens the operator page and signs in through its form. Returns once
  // the viewer shows.
  async signInWithForm(daemon, user = ADMIN) {
    const page = this.page;
    await page.goto(daemon.origin + '/');
    await page.waitForSelector('#login-form', { visible: true,
                                                timeout: 10000 });
    await page.type('#login-form input[name="username"]', user.username);
    await page.type('#login-form input[name="password"]', user.password);
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#app', { visible: true, timeout: 15000 });
  }

  async close() {
    await this.browser.close().catch(() => {});
    liveChildren.delete(this.process);
    fs.rmSync(this.profileDir, { recursive: true, force: true,
                                 maxRetries: 5 });
    liveDirs.delete(this.profileDir);
  }
}

// WebKitGTK, the engine of Safari, in its MiniBrowser on a private Xvfb
// display, driven over W3C WebDriver by WebKitWebDriver. Requests to any
// host but 127.0.0.1 go to a proxy on port 9, where nothing listens.
export class WebKit {
  static async launch(dir) {
    for (const file of [WEBKIT_DRIVER, MINIBROWSER, XVFB]) {
      if (!fs.existsSync(file)) {
        throw new Error(`${file} not found: ${INSTALL_HINT}`);
      }
    }
    const webkit = new WebKit();
    // Xvfb picks a free display and prints its number (-displayfd 1).
    webkit.xvfb = new Child('xvfb', [XVFB, '-displayfd', '1', '-nolisten',
                                     'tcp', '-screen', '0', '1280x800x24'],
                            path.join(dir, 'xvfb.log'));
    const display = await waitFor(
      () => /^(\d+)$/m.exec(webkit.xvfb.stdoutText) ||
        (!webkit.xvfb.alive() && 'exited'),
      10000, 'Xvfb to print its display number');
    if (display === 'exited') {
      throw new Error('Xvfb exited:\n' + webkit.xvfb.output());
    }
    const port = await freePort();
    webkit.driver = new Child(
      'webkit-driver', [WEBKIT_DRIVER, `--port=${port}`, '--host=local'],
      path.join(dir, 'webkit-driver.log'),
      { ...process.env, DISPLAY: `:${display[1]}` });
    webkit.base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(webkit.base + '/status')).ok,
                  10000, 'WebKitWebDriver to answer /status');
    const session = await webkit.command('POST', '/session', {
      capabilities: { alwaysMatch: {
        'webkitgtk:browserOptions': { binary: MINIBROWSER,
                                      args: ['--automation'] },
        proxy: { proxyType: 'manual', httpProxy: '127.0.0.1:9',
                 sslProxy: '127.0.0.1:9', noProxy: ['127.0.0.1'] },
      } },
    });
    webkit.session = `/session/${session.sessionId}`;
    webkit.version = session.capabilities.browserVersion;
    return webkit;
  }

  // Sends a WebDriver command and returns its value. Throws the driver's
  // error message on failure.
  async command(method, urlPath, body) {
    const response = await fetch(this.base + urlPath, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const { value } = await response.json();
    if (!response.ok) {
      throw new Error(`WebDriver ${method} ${urlPath} failed: ` +
                      `${value.error}: ${value.message}`);
    }
    return value;
  }

  async goto(url) {
    await this.command('POST', this.session + '/url', { url });
  }

  // Runs fn(arg) in the page, as playwright's page.evaluate does, and
  // returns its result.
  async evaluate(fn, arg = null) {
    return this.command('POST', this.session + '/execute/sync', {
      script: `return (${fn.toString()})(arguments[0]);`,
      args: [arg],
    });
  }

  async element(selector) {
    const found = await this.command('POST', this.session + '/element',
                                     { using: 'css selector',
                                       value: selector });
    return `${this.session}/element/${Object.values(found)[0]}`;
  }

  // Opens the operator page and signs in through its form. Returns once
  // the viewer shows.
  async signInWithForm(daemon, user = ADMIN) {
    await this.goto(daemon.origin + '/');
    await waitFor(() => this.evaluate(() => {
      const form = document.getElementById('login-form');
      return form && form.offsetParent !== null;
    }), 10000, 'the sign-in form to show');
    for (const [name, text] of [['username', user.username],
                                ['password', user.password]]) {
      const input = await this.element(`#login-form input[name="${name}"]`);
      await this.command('POST', input + '/value', { text });
    }
    const submit = await this.element('#login-form button[type="submit"]');
    await this.command('POST', submit + '/click', {});
    await waitFor(() => this.evaluate(() => {
      const app = document.getElementById('app');
      return app && app.offsetParent !== null;
    }), 15000, 'the viewer to show after sign-in');
  }

  async close() {
    if (this.session) {
      await this.command('DELETE', this.session).catch(() => {});
    }
    await this.driver.stop();
    await this.xvfb.stop();
  }
}

// Runs body(ws) in a new temporary directory. ws.camera(), ws.daemon(),
// ws.browser(), ws.firefox() and ws.webkit() start components that are
// stopped when body ends. On failure the tail of each log is printed.
export async function withWorkspace(name, body) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vms-browser-${name}-`));
  liveDirs.add(dir);
  const children = [];
  const browsers = [];
  const ws = {
    dir,
    camera: async (footage = FOOTAGE) => {
      const camera = await FakeCamera.start(dir, 'camera', footage);
      children.push(camera);
      return camera;
    },
    daemon: async (options) => {
      const daemon = await Daemon.start(dir, options);
      children.push(daemon);
      return daemon;
    },
    browser: async () => {
      const browser = await Browser.launch();
      browsers.push(browser);
      return browser;
    },
    firefox: async () => {
      const firefox = await Firefox.launch();
      browsers.push(firefox);
      return firefox;
    },
    webkit: async () => {
      const webkit = await WebKit.launch(dir);
      browsers.push(webkit);
      return webkit;
    },
  };
  let failed = true;
  try {
    await body(ws);
    failed = false;
  } finally {
    for (const browser of browsers) await browser.close();
    // The daemon goes first so that it does not log the camera's exit.
    for (const child of children.reverse()) {
      const { code, signal } = await child.stop();
      if (code !== 0) {
        console.log(`# ${child.name} (pid ${child.pid}) exited with ` +
                    `code ${code}, signal ${signal}`);
      }
    }
    if (failed) printLogTails(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    liveDirs.delete(dir);
  }
}

function printLogTails(dir) {
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith('.log')) continue;
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    console.error(`--- ${name} (tail) ---\n${text.slice(-6000)}`);
  }
}
