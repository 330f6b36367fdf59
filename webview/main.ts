/**
 * The dashboard app. It runs in a VS Code webview and, unchanged, as a page the gateway
 * serves; the monitoring views arrive with the dashboard issue.
 */
import { TIME_WINDOWS } from '../src/core/protocol';

const root = document.getElementById('app');
if (root) root.textContent = `LLM Rate Limit Monitor — windows: ${Object.keys(TIME_WINDOWS).join(', ')}`;
