import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  List,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap, type Schemas } from '../api/client';
import { Empty, ErrorState, HeadroomBar, Loading, PageTitle } from '../components/ui';
import { SavingsPanel } from '../components/Savings';
import { queryKeys } from '../queries';
import { dateTime, num, relative } from '../format';

type Pool = Schemas['PoolAccountDto'];

export const STATE_LABEL: Record<Pool['state'], { label: string; color: string }> = {
  healthy: { label: 'Healthy', color: 'teal' },
  cooling_down: { label: 'Cooling down', color: 'orange' },
  needs_reauth: { label: 'Needs re-auth', color: 'red' },
  disabled: { label: 'Disabled', color: 'gray' },
  unusable: { label: 'Unusable', color: 'red' },
};

export function StateBadge({ state, until }: { state: Pool['state']; until?: string | null }) {
  const s = STATE_LABEL[state];
  return (
    <Badge color={s.color} variant="light" data-testid="account-state">
      {s.label}
      {state === 'cooling_down' && until ? ` until ${dateTime(until)}` : ''}
    </Badge>
  );
}

/** A figure with its label (and a hint under it). */
export function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Text size="sm" c="gray.7">
        {label}
      </Text>
      <Text fw={700} fz="xl">
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="gray.7">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

export function OverviewPage() {
  const q = useQuery({
    queryKey: queryKeys.overview,
    queryFn: () => unwrap(api.GET('/admin/api/overview')),
    refetchInterval: 15_000,
  });
  if (q.isPending) return <Loading what="the overview" />;
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const o = q.data;
  const a = o.accounts;
  return (
    <Stack>
      <PageTitle title="Overview" />
      {o.actions.length > 0 && (
        <Alert color="orange" title="Needs your attention" role="region" aria-label="Needs your attention">
          <List size="sm" spacing={4}>
            {o.actions.map((x, i) => (
              <List.Item key={i}>
                {x.message}{' '}
                {(x.kind === 'add_account' || x.kind === 'reauth') && (
                  <Link to={x.kind === 'add_account' ? '/accounts?add=1' : `/accounts?reauth=${x.accountId}`}>
                    {x.kind === 'add_account' ? 'Add an account' : 'Log in again'}
                  </Link>
                )}
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Stat label="Healthy accounts" value={`${a.healthy} of ${a.total}`} />
        <Stat
          label="Cooling down / re-auth / disabled"
          value={`${a.coolingDown} / ${a.needsReauth + a.unusable} / ${a.disabled}`}
        />
        <Stat
          label="Requests, last hour"
          value={num(o.lastHour.requests)}
          hint={`${num(o.lastHour.errors)} errors · ${num(o.lastHour.tokens)} tokens`}
        />
        <Stat
          label="Soonest reset"
          value={o.soonestReset ? relative(o.soonestReset) : '—'}
          hint={o.soonestReset ? dateTime(o.soonestReset) : 'no limit reached'}
        />
      </SimpleGrid>
      <SavingsPanel />
      <Title order={2} size="h3">
        Pool
      </Title>
      <ForecastLine forecast={o.forecast ?? []} />
      {o.pool.length === 0 ? (
        <Empty title="No subscription accounts yet">
          <Text size="sm">Add a ChatGPT/Codex account so the gateway can serve requests.</Text>
          <Button component={Link} to="/accounts?add=1">
            Add an account
          </Button>
        </Empty>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {[...o.pool]
            .sort((x, y) => order(x.state) - order(y.state))
            .map((p) => (
              <Card key={p.id} withBorder radius="md" data-testid="pool-account">
                <Group justify="space-between" mb="xs" wrap="nowrap">
                  <div style={{ minWidth: 0 }}>
                    <Text fw={600} truncate>
                      {p.label || p.email || 'Account'}
                    </Text>
                    <Text size="xs" c="gray.7" truncate>
                      {p.email ?? '—'} · {p.planType ?? 'plan unknown'}
                    </Text>
                  </div>
                  <StateBadge state={p.state} until={p.cooldownUntil} />
                </Group>
                <Stack gap="sm">
                  <HeadroomBar label="5-hour limit" w={p.short} />
                  <HeadroomBar label="Weekly limit" w={p.long} />
                  {p.lastError && p.state !== 'healthy' && (
                    <Text size="xs" c="red.9">
                      {p.lastError}
                    </Text>
                  )}
                </Stack>
              </Card>
            ))}
        </SimpleGrid>
      )}
    </Stack>
  );
}

const order = (s: Pool['state']) =>
  ({ needs_reauth: 0, unusable: 1, cooling_down: 2, healthy: 3, disabled: 4 })[s];

/** One line: when the pool's tighter window runs dry at the last hour's rate, and how many accounts reset first. */
function ForecastLine({ forecast }: { forecast: Schemas['WindowForecastDto'][] }) {
  const dry = forecast.filter((f) => f.dryAt).sort((x, y) => Date.parse(x.dryAt!) - Date.parse(y.dryAt!))[0];
  const when = (iso: string) =>
    new Date(iso).toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  return (
    <Text size="sm" data-testid="pool-forecast">
      {dry
        ? `At this rate the ${dry.kind === 'weekly' ? 'weekly' : '5-hour'} limit is reached ${when(dry.dryAt!)}; ` +
          `${dry.resetsBefore} account${dry.resetsBefore === 1 ? '' : 's'} reset before then.`
        : 'At the last hour’s rate the pool does not run dry.'}
    </Text>
  );
}
