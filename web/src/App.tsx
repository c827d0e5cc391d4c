import { AppShell, Burger, Button, Group, NavLink, Stack, Text, Title, VisuallyHidden } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Navigate, NavLink as RouterLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { api, ApiFailure, setUnauthorizedHandler, unwrap } from './api/client';
import { ErrorState, Loading } from './components/ui';
import { queryKeys } from './queries';
import { AccountsPage } from './pages/Accounts';
import { AuditPage } from './pages/Audit';
import { CornerPage, UserUsagePage } from './pages/Corner';
import { InvitePage } from './pages/Invite';
import { KeysPage } from './pages/Keys';
import { OverviewPage } from './pages/Overview';
import { FirstRunPage, SetupPage } from './pages/Setup';
import { SignInPage } from './pages/SignIn';
import { UsagePage } from './pages/Usage';
import { UsersPage } from './pages/Users';
import { SessionContext, useSession } from './session';

export function App() {
  const location = useLocation();
  const qc = useQueryClient();
  const [notice, setNotice] = useState<string | null>(null);
  const setup = useQuery({
    queryKey: queryKeys.setup,
    queryFn: () => unwrap(api.GET('/admin/api/setup')),
    staleTime: 60_000,
  });
  const ctx = useQuery({
    queryKey: queryKeys.context,
    queryFn: () => unwrap(api.GET('/admin/api/ui/context')),
    enabled: setup.data?.needed === false,
    staleTime: 60_000,
  });

  useEffect(() => {
    setUnauthorizedHandler((f) => {
      if (f.code === 'invalid_credentials' || f.code === 'unauthenticated_login') return;
      setNotice(
        f.code === 'session_expired' ? 'Your session expired. Sign in again.' : 'Please sign in to continue.',
      );
      qc.setQueryData(['context'], null);
    });
  }, [qc]);

  if (location.pathname === '/setup') return <SetupPage />;
  // The invited person has no session yet; a signed-in one may open a link too (e.g. for someone else).
  if (location.pathname === '/invite') return <InvitePage />;
  if (setup.isPending) return <Loading what="the gateway" />;
  if (setup.isError) return <ErrorState error={setup.error} retry={() => void setup.refetch()} />;
  if (setup.data.needed) return <FirstRunPage />;
  if (ctx.isPending && ctx.fetchStatus !== 'idle') return <Loading what="your session" />;
  if (ctx.isError && !(ctx.error instanceof ApiFailure && ctx.error.status === 401))
    return <ErrorState error={ctx.error} retry={() => void ctx.refetch()} />;
  if (!ctx.data)
    return (
      <SignInPage
        notice={notice}
        onSignedIn={() => {
          setNotice(null);
          qc.clear();
          void ctx.refetch();
        }}
      />
    );
  return (
    <SessionContext.Provider value={ctx.data}>
      <Shell
        onSignedOut={(msg) => {
          setNotice(msg);
          qc.clear();
          qc.setQueryData(['setup'], { needed: false });
          qc.setQueryData(['context'], null);
        }}
      />
    </SessionContext.Provider>
  );
}

const ADMIN_NAV = [
  { to: '/overview', label: 'Overview' },
  { to: '/accounts', label: 'Accounts' },
  { to: '/keys', label: 'Keys' },
  { to: '/users', label: 'Users' },
  { to: '/usage', label: 'Usage' },
  { to: '/audit', label: 'Audit log' },
];
const MEMBER_NAV = [
  { to: '/me', label: 'My corner' },
  { to: '/keys', label: 'My keys' },
  { to: '/usage', label: 'My usage' },
];

function Shell({ onSignedOut }: { onSignedOut: (msg: string) => void }) {
  const session = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const navigate = useNavigate();
  const admin = session.user.role === 'admin';
  const nav = admin ? ADMIN_NAV : MEMBER_NAV;
  const signOut = async () => {
    await unwrap(api.POST('/admin/api/auth/logout')).catch(() => undefined);
    onSignedOut('You signed out.');
    void navigate('/');
  };
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={opened ? 'Close navigation' : 'Open navigation'}
            />
            <Text fw={700} component="span">
              Codex Gateway
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="xs" data-testid="signed-in-as">
              {session.user.email}
              <VisuallyHidden> ({session.user.role})</VisuallyHidden>
            </Text>
            <Button size="xs" variant="default" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        <Stack gap={2}>
          {nav.map((n) => (
            <NavLink
              key={n.to}
              component={RouterLink}
              to={n.to}
              label={n.label}
              onClick={close}
              styles={{ label: { fontSize: 'var(--mantine-font-size-sm)' } }}
            />
          ))}
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main>
        <Routes>
          <Route path="/" element={<Navigate to={admin ? '/overview' : '/me'} replace />} />
          <Route path="/me" element={<CornerPage />} />
          {admin && <Route path="/overview" element={<OverviewPage />} />}
          {admin && <Route path="/accounts" element={<AccountsPage />} />}
          <Route path="/keys" element={<KeysPage />} />
          {admin && <Route path="/users" element={<UsersPage />} />}
          {admin && <Route path="/users/:id/usage" element={<UserUsagePage />} />}
          <Route path="/usage" element={<UsagePage />} />
          {admin && <Route path="/audit" element={<AuditPage />} />}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </AppShell.Main>
    </AppShell>
  );
}

function NotFound() {
  return (
    <Stack align="flex-start">
      <Title order={1} size="h2">
        Page not found
      </Title>
      <Text>This page does not exist or needs an admin.</Text>
      <Button component={RouterLink} to="/">
        Go to the start page
      </Button>
    </Stack>
  );
}
