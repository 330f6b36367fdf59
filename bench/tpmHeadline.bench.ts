/**
 * npm run bench:tpm — the headline on a TPM-bound model, strict FIFO and backfilling side by
 * side in one run: 10× the TPM offered for 65 s through the real openai SDK, requests of
 * 20–90 % of the per-second tokens (TPS = TPM/60), a third streamed, the fake provider (its
 * own tokenizer) and the gateway each in their own process. Prints the share of the TPM used
 * in the last full minute at the provider, and what it refused.
 */
import { startFakeProcess } from '../test/support/fakeProcess';
import { startGatewayProcess } from '../test/support/gatewayProcess';
import { runOverload } from '../test/support/overload';
import { PROVIDER_KEY } from '../test/support/stack';
import { machine, printTable } from './table';

const RPM = 600;
const TPM = 30_000; // 500 tokens a second
const RUN_MS = Number(process.env.RLM_TPM_MS ?? 65_000);
// prompts of ~55–365 provider tokens plus 40–89 output: 20–90 % of a second's 500 tokens
const words = (i: number) => 40 + ((i * 37) % 220);
const maxTokens = (i: number) => 40 + ((i * 13) % 50);

async function run(mode: 'FIFO' | 'backfilling') {
  const fake = await startFakeProcess({
    apiKey: PROVIDER_KEY,
    models: { 'qwen-plus': { rpm: RPM, tpm: TPM } },
    ttftMs: 30,
    chunkIntervalMs: 10,
    completionTokens: [20, 120],
  });
  const gateway = await startGatewayProcess(
    { models: { 'qwen-plus': { rpm: RPM, tpm: TPM } }, maxQueueMs: 4_000 },
    fake.url,
    mode === 'FIFO' ? ['--strict-fifo'] : [],
  );
  try {
    const r = await runOverload({
      gatewayUrl: gateway.url,
      model: 'qwen-plus',
      workspace: 'default',
      runMs: RUN_MS,
      offeredPerSecond: 17,
      words,
      maxTokens,
    });
    const arrivals = await fake.arrivals('qwen-plus');
    const counters = await fake.counters();
    const end = Math.min(r.endedAt, arrivals.at(-1)?.at ?? r.endedAt);
    const tokens = arrivals.filter((a) => a.at > end - 60_000 && a.at <= end).reduce((s, a) => s + a.tokens, 0);
    const refusals = counters.refusals.map((x) => x.rule);
    return {
      mode,
      'TPM used, last minute': `${((tokens / TPM) * 100).toFixed(1)} %`,
      'provider 429s': counters.rejected.rpm + counters.rejected.tpm + counters.rejected.burst,
      rules: refusals.join(' ') || '—',
      answered: r.outcomes.ok,
      'refused locally': r.outcomes.local429,
      'other errors': r.outcomes.other,
    };
  } finally {
    await gateway.stop();
    fake.stop();
  }
}

void (async () => {
  const rows = [await run('FIFO'), await run('backfilling')];
  printTable(`TPM-bound headline: ${TPM} TPM, 10× offered for ${RUN_MS / 1000} s — ${machine()}`, rows);
})();
