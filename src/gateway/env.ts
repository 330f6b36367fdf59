/** The provider key from the environment: RLM_API_KEY, else DASHSCOPE_API_KEY, else OPENAI_API_KEY. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.RLM_API_KEY || env.DASHSCOPE_API_KEY || env.OPENAI_API_KEY || undefined;
}
