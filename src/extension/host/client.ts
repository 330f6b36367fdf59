/** The bundled `openai` client: through the gateway, no retries of its own, tagged with source and workspace. */
import OpenAI from 'openai';

export function gatewayClient(url: string, token: string, workspace: string, source: string): OpenAI {
  return new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: token,
    maxRetries: 0,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('x-rlm-source', source);
      headers.set('x-rlm-workspace', workspace);
      return fetch(input, { ...init, headers });
    },
  });
}
