// Generates the Grafana dashboards (helm/codex-gateway/dashboards/*.json) from the panel lists below, so the
// five dashboards share one layout and datasource convention. Run after editing:
//   node deploy/grafana/build-dashboards.mjs          (writes the files)
//   node deploy/grafana/build-dashboards.mjs --check  (exits 1 when a committed file differs; CI runs this)
// Every query uses only metrics the gateway exposes; test/deploy/prometheus-dashboards.ts evaluates each one on
// a real Prometheus scraping a gateway under load and fails on a query that errors or returns nothing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'helm', 'codex-gateway', 'dashboards');
const ds = { type: 'prometheus', uid: '${datasource}' };
const R = '$__rate_interval';

/** p: [type, title, unit, [[expr, legend], ...], width?] */
function panels(list) {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return list.map(([type, title, unit, targets, w = type === 'stat' ? 6 : 12], i) => {
    const h = type === 'stat' ? 4 : 8;
    if (x + w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const panel = {
      id: i + 1,
      type,
      title,
      datasource: ds,
      gridPos: { x, y, w, h },
      fieldConfig: { defaults: { unit }, overrides: [] },
      options:
        type === 'stat'
          ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value' }
          : type === 'heatmap'
            ? { calculate: false, yAxis: { unit } }
            : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: targets.map(([expr, legendFormat], j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: ds,
        expr,
        legendFormat: legendFormat ?? '',
        ...(type === 'heatmap' ? { format: 'heatmap' } : {}),
      })),
    };
    x += w;
    rowH = Math.max(rowH, h);
    return panel;
  });
}

function dashboard(uid, title, list) {
  return {
    uid,
    title,
    tags: ['codex-gateway'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
        },
      ],
    },
    links: [{ type: 'dashboards', tags: ['codex-gateway'], asDropdown: true, title: 'Codex Gateway' }],
    panels: panels(list),
  };
}

const q = {
  reqRate: `sum(rate(cg_requests_total[${R}]))`,
  err5: `(sum(rate(cg_requests_total{status=~"5.."}[${R}])) or vector(0)) / clamp_min(sum(rate(cg_requests_total[${R}])), 1e-9)`,
  err4: `(sum(rate(cg_requests_total{status=~"4.."}[${R}])) or vector(0)) / clamp_min(sum(rate(cg_requests_total[${R}])), 1e-9)`,
  quant: (p, m, by = 'endpoint') => `histogram_quantile(${p}, sum by (le, ${by}) (rate(${m}_bucket[${R}])))`,
};

const dashboards = {
  'codex-gateway-overview': dashboard('cg-overview', 'Codex Gateway / Overview', [
    ['stat', 'Requests per second', 'reqps', [[q.reqRate]]],
    ['stat', '5xx ratio', 'percentunit', [[q.err5]]],
    ['stat', 'Streams open now', 'short', [['sum(cg_inflight_streams)']]],
    ['stat', 'Active accounts', 'short', [['max(cg_accounts{status="active", enabled="true"})']]],
    [
      'timeseries',
      'Requests per second by endpoint and status',
      'reqps',
      [[`sum by (endpoint, status) (rate(cg_requests_total[${R}]))`, '{{endpoint}} {{status}}']],
    ],
    [
      'timeseries',
      'Time to first token p50 / p99',
      's',
      [
        [q.quant(0.5, 'cg_time_to_first_token_seconds'), 'p50 {{endpoint}}'],
        [q.quant(0.99, 'cg_time_to_first_token_seconds'), 'p99 {{endpoint}}'],
      ],
    ],
    [
      'timeseries',
      'Tokens per second by kind',
      'short',
      [[`sum by (kind) (rate(cg_tokens_total[${R}]))`, '{{kind}}']],
    ],
    [
      'timeseries',
      'Targets up by component',
      'short',
      [['sum by (component) (up{component=~"api|worker"})', '{{component}}']],
    ],
    // Prompt-cache health (src/metrics/cache-metrics.ts); alert CodexGatewayPromptCacheHitRateLow.
    [
      'timeseries',
      'Prompt-cache hit rate (share of input tokens from the cache)',
      'percentunit',
      [
        [
          `sum by (turn) (rate(cg_prompt_cache_input_tokens_total{cache="hit"}[${R}])) / sum by (turn) (rate(cg_prompt_cache_input_tokens_total[${R}]))`,
          '{{turn}} turns',
        ],
      ],
    ],
    [
      'timeseries',
      'Cached vs uncached input tokens per second by account',
      'short',
      [[`sum by (account, cache) (rate(cg_prompt_cache_input_tokens_total[${R}]))`, '{{account}} {{cache}}']],
    ],
    [
      'timeseries',
      "Later turns still on their conversation's first account",
      'percentunit',
      [
        [
          `sum(rate(cg_conversation_accounts_bucket{le="1"}[${R}])) / sum(rate(cg_conversation_accounts_count[${R}]))`,
          'one account so far',
        ],
      ],
    ],
  ]),

  'codex-gateway-accounts': dashboard('cg-accounts', 'Codex Gateway / Accounts & headroom', [
    ['stat', 'Accounts active', 'short', [['max(cg_accounts{status="active", enabled="true"})']]],
    ['stat', 'Accounts needing re-auth', 'short', [['max(cg_accounts{status="needs_reauth"}) or vector(0)']]],
    [
      'stat',
      'Accounts cooling down now',
      'short',
      [['count(max by (account) (cg_account_cooldown_seconds) > 0) or vector(0)']],
    ],
    [
      'stat',
      'Lowest headroom (% of limit left)',
      'percent',
      [['min(100 - max by (account) (cg_account_usage_limit_used_percent))']],
    ],
    [
      'timeseries',
      'Accounts by status',
      'short',
      [['max by (status, enabled) (cg_accounts)', '{{status}} (enabled={{enabled}})']],
    ],
    [
      'timeseries',
      'Usage-limit used % per account',
      'percent',
      [['max by (account) (cg_account_usage_limit_used_percent)', '{{account}}']],
    ],
    [
      'bargauge',
      'Headroom per account (% of limit left)',
      'percent',
      [['100 - max by (account) (cg_account_usage_limit_used_percent)', '{{account}}']],
    ],
    [
      'timeseries',
      'Cooldown left per account',
      's',
      [['max by (account) (cg_account_cooldown_seconds)', '{{account}}']],
    ],
    [
      'timeseries',
      'Forecast: time until the pool runs dry (last hour’s rate)',
      's',
      [['min by (window) (cg_pool_window_dry_seconds)', '{{window}}']],
    ],
  ]),

  'codex-gateway-latency': dashboard('cg-latency', 'Codex Gateway / Latency & TTFT', [
    [
      'timeseries',
      'Time to first token p50 / p90 / p99',
      's',
      [
        [q.quant(0.5, 'cg_time_to_first_token_seconds'), 'p50 {{endpoint}}'],
        [q.quant(0.9, 'cg_time_to_first_token_seconds'), 'p90 {{endpoint}}'],
        [q.quant(0.99, 'cg_time_to_first_token_seconds'), 'p99 {{endpoint}}'],
      ],
    ],
    [
      'timeseries',
      'Whole request p50 / p90 / p99 (streams: until the last byte)',
      's',
      [
        [q.quant(0.5, 'cg_request_duration_seconds'), 'p50 {{endpoint}}'],
        [q.quant(0.9, 'cg_request_duration_seconds'), 'p90 {{endpoint}}'],
        [q.quant(0.99, 'cg_request_duration_seconds'), 'p99 {{endpoint}}'],
      ],
    ],
    [
      'timeseries',
      'Mean time to first token',
      's',
      [
        [
          `sum by (endpoint) (rate(cg_time_to_first_token_seconds_sum[${R}])) / sum by (endpoint) (rate(cg_time_to_first_token_seconds_count[${R}]))`,
          '{{endpoint}}',
        ],
      ],
    ],
    [
      'heatmap',
      'Time to first token distribution',
      's',
      [[`sum by (le) (increase(cg_time_to_first_token_seconds_bucket[${R}]))`, '{{le}}']],
    ],
    [
      'timeseries',
      'Streams open per replica',
      'short',
      [['sum by (instance) (cg_inflight_streams)', '{{instance}}']],
    ],
    [
      'timeseries',
      'Event loop lag p99 per replica',
      's',
      [['max by (instance, component) (cg_nodejs_eventloop_lag_p99_seconds)', '{{component}} {{instance}}']],
    ],
  ]),

  'codex-gateway-errors': dashboard('cg-errors', 'Codex Gateway / Errors & failovers', [
    ['stat', '5xx ratio', 'percentunit', [[q.err5]]],
    ['stat', '4xx ratio', 'percentunit', [[q.err4]]],
    ['stat', 'Failovers per minute', 'short', [[`sum(rate(cg_failovers_total[${R}])) * 60`]]],
    [
      'stat',
      'Upstream errors per minute',
      'short',
      [[`(sum(rate(cg_upstream_errors_total[${R}])) or vector(0)) * 60`]],
    ],
    [
      'timeseries',
      'Responses by status',
      'reqps',
      [[`sum by (status) (rate(cg_requests_total[${R}]))`, '{{status}}']],
    ],
    [
      'timeseries',
      'Upstream errors by class',
      'short',
      [[`sum by (class) (rate(cg_upstream_errors_total[${R}]))`, '{{class}}']],
    ],
    [
      'timeseries',
      'Failovers (request retried on another account)',
      'short',
      [[`sum(rate(cg_failovers_total[${R}]))`, 'failovers/s']],
    ],
    [
      'timeseries',
      'Error ratio by model',
      'percentunit',
      [
        [
          `(sum by (model) (rate(cg_requests_total{status=~"4..|5.."}[${R}])) or sum by (model) (rate(cg_requests_total[${R}])) * 0) / clamp_min(sum by (model) (rate(cg_requests_total[${R}])), 1e-9)`,
          '{{model}}',
        ],
      ],
    ],
  ]),

  'codex-gateway-refresh-worker': dashboard('cg-refresh-worker', 'Codex Gateway / Token refresh & worker', [
    ['stat', 'Workers up', 'short', [['sum(up{component="worker"})']]],
    ['stat', 'API replicas up', 'short', [['sum(up{component="api"})']]],
    [
      'stat',
      'Refresh failures (1h)',
      'short',
      [['sum(increase(cg_token_refresh_total{outcome=~".*failure"}[1h])) or vector(0)']],
    ],
    ['stat', 'Refreshes (1h)', 'short', [['sum(increase(cg_token_refresh_total[1h]))']]],
    [
      'timeseries',
      'Token refreshes by outcome',
      'short',
      [[`sum by (outcome) (increase(cg_token_refresh_total[${R}]))`, '{{outcome}}']],
    ],
    [
      'timeseries',
      'Resident memory per process',
      'bytes',
      [['max by (component, instance) (cg_process_resident_memory_bytes)', '{{component}} {{instance}}']],
    ],
    [
      'timeseries',
      'CPU per process',
      'percentunit',
      [
        [
          `max by (component, instance) (rate(cg_process_cpu_seconds_total[${R}]))`,
          '{{component}} {{instance}}',
        ],
      ],
    ],
    [
      'timeseries',
      'Heap used per process',
      'bytes',
      [['max by (component, instance) (cg_nodejs_heap_size_used_bytes)', '{{component}} {{instance}}']],
    ],
  ]),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [file, d] of Object.entries(dashboards)) {
  const path = join(out, `${file}.json`);
  // Formatted like the rest of the repository, so `prettier --check .` agrees with the generator.
  const text = await format(JSON.stringify(d), { parser: 'json' });
  if (check) {
    let cur = '';
    try {
      cur = readFileSync(path, 'utf8');
    } catch {
      /* missing */
    }
    if (cur !== text) {
      console.error(`stale: ${path} (run node deploy/grafana/build-dashboards.mjs)`);
      stale++;
    }
  } else {
    mkdirSync(out, { recursive: true });
    writeFileSync(path, text);
  }
}
if (stale) process.exit(1);
console.log(`${Object.keys(dashboards).length} dashboards ${check ? 'up to date' : 'written'} in ${out}`);
