/**
 * The dashboard app's entry. The same bundle runs in a VS Code webview (panel or sidebar)
 * and as the page the gateway serves; the page tells which by its data attributes.
 */
import * as l10n from '@vscode/l10n';
import { setFormatLocale } from '../src/core/format';
import { DashboardView } from './dashboard';
import { httpHost, vsCodeHost, type DashboardHost } from './host';
import { SidebarView } from './sidebar';

const root = document.getElementById('app')!;
const page = document.body.dataset;
// the host's translations for the user's language (VS Code's display language, or the page's ?lang=)
if (page.l10n) l10n.config({ contents: JSON.parse(page.l10n) as Record<string, string> });
// numbers and durations in the same language as the words
setFormatLocale(document.documentElement.lang || undefined);
const host: DashboardHost = page.host === 'gateway' ? httpHost(location.origin, page.token ?? '') : vsCodeHost();
if (page.host === 'gateway') {
  // The token came in the address (?token=…): take it out of the address bar and the
  // browser's history as soon as the page holds it.
  const url = new URL(location.href);
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
}
const view = page.view === 'sidebar' ? new SidebarView(root, host) : new DashboardView(root, host);
// for the dashboard benchmark and tests
(window as unknown as { rlmView: unknown }).rlmView = view;
