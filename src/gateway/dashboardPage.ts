/**
 * The dashboard as a page the gateway serves at `/` (for remote or headless use): the same
 * bundle as the VS Code webview, talking HTTP + SSE instead of postMessage. The page needs
 * the token (`/?token=…`, or the Authorization header); its static assets hold no data.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { tokensEqual } from './security';
import zhCn from '../../l10n/bundle.l10n.zh-cn.json';

/**
 * The page's language: ?lang=zh-cn (or en), else the browser's Accept-Language. The app
 * translates with the bundle it is given (webview/main.ts); English needs none.
 */
export function pageLanguage(req: http.IncomingMessage, url: URL): { lang: string; bundle?: Record<string, string> } {
  const asked = url.searchParams.get('lang') ?? req.headers['accept-language'] ?? '';
  return /^zh\b/i.test(asked.trim()) ? { lang: 'zh-cn', bundle: zhCn } : { lang: 'en' };
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/webview.js': { file: 'dist/webview.js', type: 'text/javascript; charset=utf-8' },
  '/assets/monitor.css': { file: 'media/monitor.css', type: 'text/css; charset=utf-8' },
  '/assets/standalone.css': { file: 'media/standalone.css', type: 'text/css; charset=utf-8' },
  '/favicon.ico': { file: 'media/icon.svg', type: 'image/svg+xml' },
};

/** The package root: next to dist/ when bundled, two levels up from src/gateway in tests. */
function packageRoot(): string {
  for (const candidate of [path.resolve(__dirname, '..'), path.resolve(__dirname, '../..')]) {
    if (fs.existsSync(path.join(candidate, 'media', 'monitor.css'))) return candidate;
  }
  return path.resolve(__dirname, '..');
}

export function isDashboardRoute(p: string): boolean {
  return p === '/' || p in ASSETS;
}

/**
 * `tokens`: the admin token (when the gateway has one) and the caller token. The page holds the
 * one it was opened with: with the caller token it shows everything, and its edits are refused.
 */
export function serveDashboard(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  tokens: (string | undefined)[],
  bearer: string | undefined,
): void {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const asset = ASSETS[url.pathname];
  if (asset) {
    const file = path.join(packageRoot(), asset.file);
    if (!fs.existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`${asset.file} is missing: run npm run build`);
      return;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    fs.createReadStream(file).pipe(res);
    return;
  }
  // The token may come once in the address; the page then takes it out of the address bar
  // and the browser's history (webview/main.ts), and an HttpOnly, SameSite=Strict cookie,
  // sent to this origin only and readable by no script, lets a reload in.
  const given = url.searchParams.get('token') ?? bearer ?? cookieOf(req, PAGE_COOKIE);
  const token = given ? tokens.find((t): t is string => t !== undefined && tokensEqual(given, t)) : undefined;
  if (!token) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      'Open this page with the gateway token: http://127.0.0.1:PORT/?token=<token> (the "Copy Gateway ' +
        'Environment" command or the token file gives it).',
    );
    return;
  }
  const theme = url.searchParams.get('theme') === 'dark' ? 'dark' : 'light';
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src 'self'`,
    `connect-src 'self'`,
    `img-src 'self' data:`,
    `base-uri 'none'`,
    `form-action 'none'`,
    `frame-ancestors 'none'`,
  ].join('; ');
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'set-cookie': `${PAGE_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
  });
  res.end(pageHtml({ token, theme, nonce, language: pageLanguage(req, url) }));
}

/** The page: the app's script under the nonce, the token and theme for it, the translations when not English. */
function pageHtml(o: {
  token: string;
  theme: string;
  nonce: string;
  language: ReturnType<typeof pageLanguage>;
}): string {
  const { token, theme, nonce, language } = o;
  const l10nAttribute = language.bundle ? ` data-l10n="${escapeAttribute(JSON.stringify(language.bundle))}"` : '';
  return `<!DOCTYPE html>
<html lang="${language.lang}" data-theme="${theme}"><head><meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="/assets/standalone.css"><link rel="stylesheet" href="/assets/monitor.css">
<title>LLM Rate Limit Monitor</title></head>
<body data-view="panel" data-host="gateway" data-token="${escapeAttribute(token)}" data-theme="${theme}"${l10nAttribute}>
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="/assets/webview.js"></script></body></html>`;
}

/** Text safe inside a double-quoted HTML attribute. */
export function escapeAttribute(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const PAGE_COOKIE = 'rlm_page';

function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined; // a malformed cookie is no token
    }
  }
  return undefined;
}
