/// <reference types="mocha" />
/**
 * Runs inside a real VS Code extension host (code-server or desktop VS Code). The runner
 * starts the fake provider and writes user settings that point the extension at it; the
 * provider key comes from RLM_API_KEY in the environment.
 */
import * as assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { RateLimitMonitorApi } from '../../src/extension/api';
import type { TestHooks } from '../../src/extension/extension';
import type { AttemptRecord } from '../../src/core/types';

const EXTENSION_ID = 'rate-limit-monitor.llm-rate-limit-monitor';
const hooks = () => (globalThis as Record<symbol, unknown>)[Symbol.for('rateLimitMonitor.testHooks')] as TestHooks;
const run = <T = Record<string, unknown>>(command: string, args?: unknown) =>
  vscode.commands.executeCommand<T>(`rateLimitMonitor.${command}`, args);
const section = () => vscode.workspace.getConfiguration('rateLimitMonitor');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The fake provider's origin, from the user settings the runner wrote. */
const fakeOrigin = () =>
  String(vscode.workspace.getConfiguration('rateLimitMonitor').get('customBaseUrl')).replace(/\/v1$/, '');

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

suite('LLM Rate Limit Monitor in a real VS Code', function () {
  this.timeout(30_000);
  let api: RateLimitMonitorApi;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<RateLimitMonitorApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await hooks().gatewayReady;
  });

  // The promise is that activate() does ≤ 100 ms of work and leaves everything slow to the
  // background. On CI's two shared cores its wall time also counts the time other processes held
  // the core (118–136 ms seen, against 13–20 ms on a quiet run), so the bound is on the CPU time
  // activate() spent; wall time must stay within a second, which still catches a blocking wait.
  test('activates in ≤ 100 ms of CPU time and starts the gateway in the background', () => {
    const { activationMs: wall, activationCpuMs: cpu } = hooks();
    console.log(`    activation took ${cpu!.toFixed(1)} ms of CPU, ${wall!.toFixed(1)} ms of wall time`);
    assert.ok(cpu! <= 100, `activation spent ${cpu} ms of CPU time`);
    assert.ok(wall! <= 1_000, `activation took ${wall} ms of wall time`);
    assert.equal(api.version, 1);
    assert.equal(hooks().host!.node.role, 'leader');
  });

  test('contributes every command of the category', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const c of [
      'runBatchFile',
      'submitBatchJob',
      'showBatchJobs',
      'openMonitor',
      'setApiKey',
      'clearApiKey',
      'syncLimits',
      'setAccountLimits',
      'setWorkspaceLimits',
      'selectActiveWorkspace',
      'configureFallbacks',
      'recordTemporaryIncrease',
      'selectStatusBarModel',
      'sendTestRequest',
      'copyGatewayEnvironment',
      'exportHistory',
      'clearHistory',
      'showLog',
      'joinTeam',
      'leaveTeam',
    ]) {
      assert.ok(all.includes(`rateLimitMonitor.${c}`), c);
    }
  });

  test("the API's client reaches the fake provider through the gateway, and the record arrives", async () => {
    const records: AttemptRecord[] = [];
    const sub = api.onDidRecord((r) => records.push(r));
    try {
      const client = api.getClient({ source: 'vscode-test' });
      const r = await client.chat.completions.create({
        model: 'qwen-plus',
        messages: [{ role: 'user', content: 'hello from a real VS Code' }],
      });
      assert.match(r.choices[0]!.message.content ?? '', /lorem/);
      await until(() => records.some((x) => x.source === 'vscode-test'), 'the record event');
      const rec = records.find((x) => x.source === 'vscode-test')!;
      assert.equal(rec.outcome, 'ok');
      assert.equal(rec.workspace, 'default');
      assert.ok(rec.totalTokens > 0);
      const usage = await api.getUsage('qwen-plus');
      assert.ok(usage.keys[0]!.minute.requests >= 1);
    } finally {
      sub.dispose();
    }
  });

  test('Set Account Limits: a valid limit is applied to the gateway, an invalid one is refused with its message', async () => {
    const ok = await run('setAccountLimits', { model: 'qwen-plus', rpm: 300, tpm: 500000 });
    assert.deepEqual(ok, { model: 'qwen-plus', rpm: 300, tpm: 500000 });
    assert.deepEqual(
      section().inspect('models')!.globalValue &&
        (section().inspect('models')!.globalValue as Record<string, unknown>)['qwen-plus'],
      { rpm: 300, tpm: 500000 },
    );
    await until(
      async () => (await api.getUsage('qwen-plus')).keys.find((k) => k.scope === 'account')!.configured.rpm === 300,
      'the gateway to apply 300 RPM',
    );
    const bad = await run('setAccountLimits', { model: 'qwen-plus', rpm: 'lots', tpm: 500000 });
    assert.match(String(bad.error), /RPM: "lots" is not a whole number above 0/);
    assert.equal(api.getLimits().models['qwen-plus']!.rpm, 300, 'nothing changed');
  });

  test('Set Workspace Limits: refuses more than the account allows, applies a valid limit', async () => {
    const bad = await run('setWorkspaceLimits', {
      workspace: 'ws-a',
      name: 'Team A',
      model: 'qwen-plus',
      rpm: 900,
      tpm: 1000,
    });
    assert.match(String(bad.error), /RPM: 900 exceeds the account limit of qwen-plus \(300\)/);
    const def = await run('setWorkspaceLimits', { workspace: 'default', model: 'qwen-plus', rpm: 10, tpm: 1000 });
    assert.match(String(def.error), /default workspace uses the account limits and cannot be edited/);
    const ok = await run('setWorkspaceLimits', {
      workspace: 'ws-a',
      name: 'Team A',
      model: 'qwen-plus',
      rpm: 100,
      tpm: 100000,
      push: true,
      pushUrl: `${fakeOrigin()}/api/v1/models/limits`,
    });
    // a custom provider names no region: Model Studio's home region, cn-beijing
    assert.deepEqual(ok, {
      workspace: 'ws-a',
      model: 'qwen-plus',
      rpm: 100,
      tpm: 100000,
      pushed: true,
      region: 'cn-beijing',
    });
    const quotas = (await (
      await fetch(`${fakeOrigin()}/api/v1/quotas`, { headers: { authorization: `Bearer ${process.env.RLM_API_KEY}` } })
    ).json()) as { output: { quotas: { model: string; workspace_limit: { request_limit: number } | null }[] } };
    assert.equal(
      quotas.output.quotas.find((q) => q.model === 'qwen-plus')!.workspace_limit!.request_limit,
      100,
      'the limit reached Model Studio (the fake)',
    );
    await until(() => api.getLimits().workspaces['ws-a']?.models['qwen-plus']?.rpm === 100, 'the workspace limit');
  });

  test('Sync Limits from Provider: reads the quota API and applies the differences', async () => {
    await section().update(
      'models',
      {
        'qwen-plus': { rpm: 300, tpm: 500000 },
        'qwen-max': { rpm: 100, tpm: 100000 },
        'qwen-turbo': { rpm: 600, tpm: 5000000 },
        'qwen-flash': { rpm: 600, tpm: 5000000 },
      },
      vscode.ConfigurationTarget.Global,
    );
    await until(() => api.getLimits().models['qwen-max']!.rpm === 100, 'the edited limits');
    const r = await run<{ changes: { model: string; field: string; from?: number; to: number }[] }>('syncLimits', {
      workspaceId: 'llm-fake',
      region: 'ap-southeast-1',
      url: `${fakeOrigin()}/api/v1/quotas`,
      apply: true,
    });
    assert.ok(
      r.changes.some((c) => c.model === 'qwen-max' && c.field === 'rpm' && c.from === 100 && c.to === 6000),
      JSON.stringify(r.changes),
    );
    await until(() => api.getLimits().models['qwen-max']!.rpm === 6000, 'the synced limit');
    // put back what the next tests expect
    await section().update(
      'models',
      {
        'qwen-plus': { rpm: 300, tpm: 500000 },
        'qwen-max': { rpm: 600, tpm: 1000000 },
        'qwen-turbo': { rpm: 600, tpm: 5000000 },
        'qwen-flash': { rpm: 600, tpm: 5000000 },
      },
      vscode.ConfigurationTarget.Global,
    );
    await until(() => api.getLimits().models['qwen-max']!.rpm === 600, 'the limits back');
  });

  test('Select Active Workspace: requests of this window are charged to it', async () => {
    const bad = await run('selectActiveWorkspace', { workspace: 'nobody' });
    assert.match(String(bad.error), /Unknown workspace 'nobody'/);
    assert.deepEqual(await run('selectActiveWorkspace', { workspace: 'ws-a' }), { workspace: 'ws-a' });
    await until(() => section().get('activeWorkspace') === 'ws-a', 'the setting');
    await api
      .getClient()
      .chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'as ws-a' }] });
    const keys = (await api.getUsage('qwen-plus')).keys;
    assert.ok(keys.find((k) => k.workspace === 'ws-a')!.minute.requests >= 1);
    await run('selectActiveWorkspace', { workspace: 'default' });
  });

  test('Configure Fallback Models: refuses a cycle, applies an ordered chain, and the fallback answers', async () => {
    const self = await run('configureFallbacks', { model: 'qwen-plus', fallbacks: ['qwen-plus'] });
    assert.match(String(self.error), /falls back to itself/);
    assert.deepEqual(await run('configureFallbacks', { model: 'qwen-plus', fallbacks: ['qwen-turbo', 'qwen-max'] }), {
      model: 'qwen-plus',
      fallbacks: ['qwen-turbo', 'qwen-max'],
    });
    const cycle = await run('configureFallbacks', { model: 'qwen-turbo', fallbacks: ['qwen-plus'] });
    assert.match(String(cycle.error), /cycle/);
    await until(() => (api.getLimits().fallbacks['qwen-plus'] ?? []).length === 2, 'the chain');
  });

  test('Record Temporary Increase: raises TPM for 30 days, validates, and keeps a history', async () => {
    const low = await run('recordTemporaryIncrease', { model: 'qwen-turbo', tpm: 100 });
    assert.match(String(low.error), /is not above the previous 5000000/);
    const inc = await run<{ tpm: number; expiresAt: string; appliedAt: string }>('recordTemporaryIncrease', {
      model: 'qwen-turbo',
      tpm: 8000000,
      upperLimit: 10000000,
    });
    assert.equal(inc.tpm, 8000000);
    assert.equal(Math.round((Date.parse(inc.expiresAt) - Date.parse(inc.appliedAt)) / 86_400_000), 30);
    await until(
      async () =>
        (await api.getUsage('qwen-turbo')).keys.find((k) => k.scope === 'account')!.configured.tpm === 8000000,
      'the raised TPM in the gateway',
    );
    const over = await run('recordTemporaryIncrease', { model: 'qwen-turbo', tpm: 20000000, upperLimit: 10000000 });
    assert.match(String(over.error), /exceeds the upper limit/);
  });

  test('SecretStorage: Set and Clear API Key; the key never shows in settings', async () => {
    const short = await run('setApiKey', { workspace: 'ws-a', key: 'abc' });
    assert.match(String(short.error), /too short/);
    assert.deepEqual(await run('setApiKey', { workspace: 'ws-a', key: 'sk-workspace-a-key-123456' }), {
      workspace: 'ws-a',
      stored: true,
    });
    assert.equal(hooks().keys!.get('ws-a'), 'sk-workspace-a-key-123456');
    assert.ok(!JSON.stringify(section()).includes('sk-workspace-a-key'));
    assert.deepEqual(await run('clearApiKey', { workspace: 'ws-a' }), { workspace: 'ws-a', cleared: true });
    assert.equal(hooks().keys!.has('ws-a'), false);
  });

  test('Join Team…: a bad URL names the setting; the password goes to SecretStorage; the gateway joins; Leave Team', async () => {
    const url = process.env.RLM_TEST_REDIS_URL!;
    const password = process.env.RLM_TEST_REDIS_PASSWORD!;
    const bad = await run('joinTeam', { url: 'localhost:6379', password, machineName: 'suite-machine' });
    assert.match(String(bad.error), /rateLimitMonitor\.team\.redisUrl: .*redis:\/\/HOST:PORT/);
    assert.equal(section().get('team.redisUrl'), '', 'nothing saved');
    const joined = await run('joinTeam', { url, password, machineName: 'suite-machine' });
    assert.equal(joined.joined, true);
    assert.equal(section().get('team.redisUrl'), url);
    assert.equal(section().get('team.machineName'), 'suite-machine');
    assert.ok(!JSON.stringify(section()).includes(password), 'the password is not in the settings');
    await until(() => hooks().host!.state?.team?.state === 'online', 'the gateway joined the team', 10_000);
    assert.equal(hooks().host!.state!.team!.node.name, 'suite-machine');
    const bar = hooks().statusBar!;
    await until(
      () => /Team \(suite-machine, 1 machine\)/.test((bar.item.tooltip as vscode.MarkdownString).value),
      'the team in the status-bar tooltip',
      10_000,
    );
    assert.deepEqual(await run('leaveTeam'), { left: true });
    await until(() => hooks().host!.state !== undefined && hooks().host!.state!.team === undefined, 'left', 10_000);
    assert.equal(section().get('team.redisUrl'), '');
  });

  test('a provider 429 raises one notification per model and reason, with its kind', async () => {
    const notes = hooks().notifications!;
    const before = notes.length;
    const inject = (faults: string[]) =>
      fetch(`${fakeOrigin()}/_fake/faults`, { method: 'POST', body: JSON.stringify({ faults }) });
    await inject(['tpm']);
    await api
      .getClient()
      .chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'throttled once' }] });
    await until(() => notes.length > before, 'the notification');
    assert.deepEqual(
      notes.slice(before).map((n) => [n.model, n.reason]),
      [['qwen-turbo', '429']],
    );
    assert.match(notes.at(-1)!.text, /qwen-turbo hit its TPM limit at the provider/);
    await inject(['rpm']);
    await api
      .getClient()
      .chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'throttled again' }] });
    await sleep(300);
    assert.equal(notes.length, before + 1, 'the second 429 within minutes stays quiet');
  });

  test('advice becomes a notification once a week: background work is pointed at the Batch API', async () => {
    // the fake is a custom endpoint: prices and its Batch API's share come from the setting
    const previous = section().inspect('prices')?.globalValue;
    const prices = { currency: 'USD', batchFactor: 0.5, models: { 'qwen-turbo': { input: 0.05, output: 0.2 } } };
    await section().update('prices', prices, vscode.ConfigurationTarget.Global);
    try {
      await until(async () => (await hooks().host!.client.config()).prices?.batchFactor === 0.5, 'the prices applied');
      const client = api.getClient({ source: 'suite-eval' });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.chat.completions.create(
            { model: 'qwen-turbo', messages: [{ role: 'user', content: `case ${i}` }] },
            { headers: { 'x-rlm-priority': 'background' } },
          ),
        ),
      );
      const alerts = hooks().adviceAlerts!;
      const shown = await alerts.check();
      assert.deepEqual(
        shown.map((a) => [a.kind, a.model]),
        [['use-batch', 'qwen-turbo']],
      );
      assert.match(hooks().adviceShown!.at(-1)!.text, /qwen-turbo: 20 calls on the background lane in the last hour/);
      assert.deepEqual(await alerts.check(), [], 'shown once: not again within the week');
      assert.equal((await alerts.check(Date.now() + 7 * 86_400_000)).length, 1, 'a week later, again');
    } finally {
      await section().update('prices', previous, vscode.ConfigurationTarget.Global);
    }
  });

  test('Send Test Request: answered through the bundled client with tokens, TTFT and latency', async () => {
    const r = await run<{ model: string; tokens: number; ttftMs: number; latencyMs: number; error?: string }>(
      'sendTestRequest',
      { model: 'qwen-max', quiet: true },
    );
    assert.equal(r.error, undefined);
    assert.equal(r.model, 'qwen-max');
    assert.ok(r.tokens > 0 && r.ttftMs > 0 && r.latencyMs >= r.ttftMs, JSON.stringify(r));
  });

  test('Copy Gateway Environment: lines for each shell with the local token, not the provider key', async () => {
    for (const shell of ['bash/zsh', 'fish', 'PowerShell']) {
      assert.deepEqual(await run('copyGatewayEnvironment', { shell, quiet: true }), { shell, copied: true });
      const text = await vscode.env.clipboard.readText();
      assert.ok(text.includes(`${hooks().host!.url}/v1`), text);
      assert.ok(text.includes(hooks().host!.token));
      assert.ok(!text.includes(process.env.RLM_API_KEY ?? '\u0000'));
    }
    assert.match(String((await run('copyGatewayEnvironment', { shell: 'tcsh' })).error), /Unknown shell 'tcsh'/);
  });

  test('Export History as CSV and JSON, then Clear History', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-export-'));
    const csv = await run<{ path: string }>('exportHistory', {
      format: 'csv',
      window: '1h',
      path: path.join(dir, 'h.csv'),
    });
    const text = fs.readFileSync(csv.path, 'utf8');
    assert.match(text.split('\r\n')[0]!, /^id,startedAt,model,requestedModel,workspace,source/);
    assert.ok(text.split('\r\n').length > 3);
    const json = await run<{ path: string }>('exportHistory', {
      format: 'json',
      window: '1h',
      path: path.join(dir, 'h.json'),
    });
    assert.ok((JSON.parse(fs.readFileSync(json.path, 'utf8')) as { records: unknown[] }).records.length >= 3);
    assert.match(
      String((await run('exportHistory', { format: 'xml', window: '1h', path: path.join(dir, 'h.xml') })).error),
      /use csv or json/,
    );
    assert.deepEqual(await run('clearHistory', { confirm: true }), { cleared: true });
    const m = await hooks().host!.client.metrics('1h');
    assert.equal(m.summary.totalCalls, 0);
  });

  test('settings validation: an invalid edit is reported with its setting and the last valid config keeps working', async () => {
    const before = api.getLimits().models['qwen-plus']!.rpm;
    const original = section().inspect('models')!.globalValue;
    await section().update('models', { 'qwen-plus': { rpm: -5, tpm: 100 } }, vscode.ConfigurationTarget.Global);
    await until(() => hooks().settings!.lastProblems.length > 0, 'the problem to be reported');
    assert.match(
      hooks().settings!.lastProblems[0]!,
      /^Setting rateLimitMonitor\.models: models\.qwen-plus\.rpm: -5 is not a positive whole number/,
    );
    assert.equal(api.getLimits().models['qwen-plus']!.rpm, before, 'the last valid configuration is still in force');
    await section().update('models', original, vscode.ConfigurationTarget.Global);
    await until(() => hooks().settings!.lastProblems.length === 0, 'the fix to be accepted');
  });

  test("a limit edited on the gateway's page is saved to the settings, so the next push keeps it", async () => {
    const client = hooks().host!.client;
    const original = section().inspect('models')!.globalValue;
    const live = await client.config();
    await client.putConfig({ ...live, models: { ...live.models, 'qwen-turbo': { rpm: 321, tpm: 654_321 } } }, 'page');
    await until(
      () =>
        (section().inspect('models')!.globalValue as Record<string, { rpm: number }> | undefined)?.['qwen-turbo']
          ?.rpm === 321,
      'the edit to reach the user settings',
    );
    // the settings change is pushed back to the gateway: the edit survives it
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await client.config()).models['qwen-turbo']!.rpm, 321);
    assert.equal(api.getLimits().models['qwen-turbo']!.rpm, 321);
    await section().update('models', original, vscode.ConfigurationTarget.Global);
    await until(async () => (await client.config()).models['qwen-turbo']!.rpm !== 321, 'the settings to be restored');
  });

  test('status bar: text for the selected model, warning colour near the limit', async () => {
    assert.deepEqual(await run('selectStatusBarModel', { model: 'qwen-flash' }), { model: 'qwen-flash' });
    // Pacing spaces requests 60 s / RPM apart, so a low threshold shows the colour within seconds.
    await run('setAccountLimits', { model: 'qwen-flash', rpm: 60, tpm: 1000000 });
    await section().update('statusBar.warningThreshold', 0.1, vscode.ConfigurationTarget.Global);
    await until(async () => (await api.getUsage('qwen-flash')).keys[0]?.configured.rpm === 60, 'the limit');
    const bar = hooks().statusBar!;
    assert.equal(bar.item.backgroundColor, undefined, 'no colour while idle');
    const client = api.getClient();
    for (let i = 0; i < 6; i++)
      await client.chat.completions.create({ model: 'qwen-flash', messages: [{ role: 'user', content: `fill ${i}` }] });
    await until(
      () => /^\$\(pulse\) qwen-flash 6\/60 RPM/.test(bar.item.text),
      `status text, got "${bar.item.text}"`,
      10_000,
    );
    assert.equal((bar.item.backgroundColor as vscode.ThemeColor | undefined)?.id, 'statusBarItem.warningBackground');
    assert.equal(bar.item.name, 'LLM Rate Limits');
    assert.equal(bar.item.command, 'rateLimitMonitor.openMonitor');
    assert.match((bar.item.tooltip as vscode.MarkdownString).value, /\| RPM \| 6 \| 60 \|/);
    await section().update('statusBar.warningThreshold', undefined, vscode.ConfigurationTarget.Global);
  });

  test('terminals get OPENAI_BASE_URL and OPENAI_API_KEY (the local token); turning the setting off removes them', async () => {
    const collection = hooks().terminalCollection!;
    assert.equal(collection.get('OPENAI_BASE_URL')?.value, `${hooks().host!.url}/v1`);
    assert.equal(collection.get('OPENAI_API_KEY')?.value, hooks().host!.token);
    const description = collection.description;
    assert.match(typeof description === 'string' ? description : String(description?.value), /LLM Rate Limit Monitor/);
    // A real terminal process sees them.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-term-')), 'env.json');
    const term = vscode.window.createTerminal({
      name: 'rlm-env-check',
      shellPath: process.execPath,
      shellArgs: [
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ base: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY }))`,
      ],
    });
    await until(() => fs.existsSync(out), 'the terminal process to write its environment', 15_000);
    await sleep(100);
    const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { base: string; key: string };
    term.dispose();
    assert.equal(seen.base, `${hooks().host!.url}/v1`);
    assert.equal(seen.key, hooks().host!.token);
    await section().update('terminal.injectEnvironment', false, vscode.ConfigurationTarget.Global);
    await until(() => collection.get('OPENAI_BASE_URL') === undefined, 'the variables to be removed');
    await section().update('terminal.injectEnvironment', undefined, vscode.ConfigurationTarget.Global);
    await until(() => collection.get('OPENAI_BASE_URL') !== undefined, 'the variables to come back');
  });

  test('Run Batch File: paced through the gateway, results beside the input, a malformed line reported with its number', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-batch-'));
    const file = path.join(dir, 'jobs.jsonl');
    const line = (id: string) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'qwen-turbo', max_tokens: 10, messages: [{ role: 'user', content: id }] },
      });
    fs.writeFileSync(file, [line('a'), line('b'), 'oops', line('c')].join('\n'));
    const r = await run<{ done: number; failed: number; malformed: string[]; resultsFile: string; error?: string }>(
      'runBatchFile',
      { path: file, choice: 'run', quiet: true },
    );
    assert.equal(r.error, undefined);
    assert.equal(r.done, 3);
    assert.deepEqual(r.malformed, ['line 3: is not valid JSON']);
    assert.equal(fs.readFileSync(r.resultsFile, 'utf8').trim().split('\n').length, 3);
    const again = await run<{ skipped: number }>('runBatchFile', { path: file, choice: 'run', quiet: true });
    assert.equal(again.skipped, 3, 'a second run resumes: nothing is sent twice');
    assert.match(
      String((await run('runBatchFile', { path: path.join(dir, 'none.jsonl'), choice: 'run' })).error),
      /no such file/,
    );
  });

  test('Submit as Batch Job and Show Batch Jobs: validated, submitted, listed, downloaded', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-batchapi-'));
    const line = (id: string, model: string) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model, messages: [{ role: 'user', content: id }] },
      });
    const mixed = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(mixed, [line('a', 'qwen-plus'), line('b', 'qwen-max')].join('\n'));
    assert.match(
      String((await run('submitBatchJob', { path: mixed, quiet: true })).error),
      /line 2 \(b\): uses model "qwen-max".*one model per batch file/,
    );
    const file = path.join(dir, 'job.jsonl');
    fs.writeFileSync(file, [line('a', 'qwen-plus'), line('b', 'qwen-plus')].join('\n'));
    const job = await run<{ id: string; requests: number }>('submitBatchJob', { path: file, quiet: true });
    assert.equal(job.requests, 2);
    let jobs: { id: string; status: string }[] = [];
    await until(async () => {
      jobs = (await run<{ jobs: { id: string; status: string }[] }>('showBatchJobs', { list: true })).jobs;
      return jobs.find((j) => j.id === job.id)?.status === 'completed';
    }, 'the job to complete');
    const got = await run<{ output: string }>('showBatchJobs', { download: job.id, quiet: true });
    assert.equal(got.output, path.join(dir, 'job.batch-output.jsonl'));
    assert.equal(fs.readFileSync(got.output, 'utf8').trim().split('\n').length, 2);

    // the monitor lists the job (the snapshot's Batch Jobs tab) and its Download button works
    const listed = await hooks().host!.client.batches('default');
    assert.equal(listed.error, undefined);
    assert.equal(listed.jobs.find((j) => j.id === job.id)?.status, 'completed');
    fs.rmSync(got.output);
    await run('openMonitor');
    await until(() => hooks().monitor!()?.ready === true, 'the panel to say ready', 15_000);
    hooks().monitor!()!.receive({ type: 'request', id: 1, request: { action: 'downloadBatch', batchId: job.id } });
    await until(() => fs.existsSync(got.output), 'the download from the panel');
    hooks().monitor!()!.dispose();
  });

  test('the monitor panel: ready handshake, and malformed webview messages are rejected', async () => {
    await run('openMonitor');
    await until(() => hooks().monitor!() !== undefined, 'the panel');
    const panel = hooks().monitor!()!;
    await until(() => panel.ready, 'the webview to say ready', 15_000);
    const before = panel.rejected;
    panel.receive({
      type: 'request',
      id: 7,
      request: { action: 'runFlow', flow: 'workbench.action.terminal.sendSequence' },
    });
    panel.receive({ type: 'setWindow', window: '10y' });
    panel.receive('ready');
    assert.equal(panel.rejected, before + 3);
    panel.receive({ type: 'setWindow', window: '24h' });
    assert.equal(panel.rejected, before + 3, 'a valid message is accepted');
    panel.dispose();
  });
});
