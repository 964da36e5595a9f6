// Drives one session's browser through a Herd gateway with a standard CDP client, as a user
// would, and prints one JSON line: what the page said. Run by herd-server's CDP tests:
//
//   node cdp-client.js playwright|puppeteer|cri <gateway URL with the key> <page URL>
//
// e.g. node cdp-client.js playwright http://127.0.0.1:8080/alice http://127.0.0.1:9000/page.html
// The page must have a <title> and an element with id "msg". The browser is left running (the
// session stays pinned): the process exits without closing it.
'use strict';

const [client, endpoint, pageUrl] = process.argv.slice(2);

async function viaPlaywright() {
  const { chromium } = require('playwright-core');
  const browser = await chromium.connectOverCDP(endpoint, { timeout: 60000 });
  const context = browser.contexts()[0] || (await browser.newContext());
  const page = await context.newPage();
  await page.goto(pageUrl, { timeout: 60000 });
  return { title: await page.title(), text: await page.textContent('#msg') };
}

async function viaPuppeteer() {
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.connect({ browserURL: endpoint, protocolTimeout: 60000 });
  const page = await browser.newPage();
  await page.goto(pageUrl, { timeout: 60000 });
  const result = {
    title: await page.title(),
    text: await page.$eval('#msg', (el) => el.textContent),
  };
  await browser.disconnect();
  return result;
}

async function viaChromeRemoteInterface() {
  // chrome-remote-interface asks host:port, without a path, for the targets; its documented hook
  // for a prefix is alterPath, which it also applies to the WebSocket URL. Discovery goes through
  // the prefix, and the (rewritten) webSocketDebuggerUrl is used as given.
  // Its HTTP requests give up after 10 s (a fixed timeout): a session must find a warm browser
  // (pool.warm) when a cold start takes longer.
  const CDP = require('chrome-remote-interface');
  const url = new URL(endpoint);
  const prefix = url.pathname.replace(/\/$/, '');
  const version = await CDP.Version({
    host: url.hostname, port: url.port, alterPath: (p) => prefix + p,
  });
  const browser = await CDP({ target: version.webSocketDebuggerUrl, local: true });
  const { targetId } = await browser.Target.createTarget({ url: 'about:blank' });
  const targets = await CDP.List({ host: url.hostname, port: url.port, alterPath: (p) => prefix + p });
  const target = targets.find((t) => t.id === targetId);
  await browser.close();
  const page = await CDP({ target: target.webSocketDebuggerUrl, local: true });
  await page.Page.enable();
  const loaded = page.Page.loadEventFired();
  await page.Page.navigate({ url: pageUrl });
  await loaded;
  const evaluate = async (expression) =>
    (await page.Runtime.evaluate({ expression, returnByValue: true })).result.value;
  const result = {
    title: await evaluate('document.title'),
    text: await evaluate("document.getElementById('msg').textContent"),
  };
  await page.close();
  return result;
}

const clients = { playwright: viaPlaywright, puppeteer: viaPuppeteer, cri: viaChromeRemoteInterface };

(async () => {
  if (!clients[client] || !endpoint || !pageUrl) {
    throw new Error('usage: node cdp-client.js playwright|puppeteer|cri <gateway URL> <page URL>');
  }
  const result = await clients[client]();
  process.stdout.write(JSON.stringify({ client, ...result }) + '\n');
  process.exit(0);
})().catch((e) => {
  process.stderr.write(`${client} failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
