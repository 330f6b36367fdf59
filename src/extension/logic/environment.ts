/** Lines that point a shell's OpenAI clients at the gateway. The token is local, not the provider key. */
export function environmentLines(
  url: string,
  token: string,
): { shell: 'bash/zsh' | 'fish' | 'PowerShell'; text: string }[] {
  const base = `${url}/v1`;
  return [
    { shell: 'bash/zsh', text: `export OPENAI_BASE_URL=${base}\nexport OPENAI_API_KEY=${token}` },
    { shell: 'fish', text: `set -gx OPENAI_BASE_URL ${base}\nset -gx OPENAI_API_KEY ${token}` },
    { shell: 'PowerShell', text: `$env:OPENAI_BASE_URL = "${base}"\n$env:OPENAI_API_KEY = "${token}"` },
  ];
}
