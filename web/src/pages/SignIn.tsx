import { Alert, Button, Center, Divider, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, messageOf, unwrap } from '../api/client';
import { CurrentPasswordInput } from '../components/ui';
import { queryKeys } from '../queries';

export function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={420}>
        <Stack gap="md">
          <Text fw={700} c="blue.9">
            Codex Gateway
          </Text>
          <Title order={1} size="h2">
            {title}
          </Title>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

/** What the gateway's SSO callback means by `?sso_error=<code>` (src/auth/oidc/oidc.service.ts). */
export const SSO_ERRORS: Record<string, string> = {
  sso_flow_expired: 'The single sign-on took too long or was not started here. Try again.',
  sso_flow_replayed: 'That sign-in link was already used. Start the sign-in again.',
  sso_state_mismatch: 'The answer from your identity provider did not match this sign-in. Try again.',
  sso_nonce_mismatch: 'The identity provider’s token did not match this sign-in. Try again.',
  sso_idp_error: 'Your identity provider refused the sign-in.',
  sso_email_unverified:
    'Your identity provider did not confirm your email address, so you cannot sign in here.',
  sso_domain_not_allowed: 'Your email domain is not allowed to sign in to this gateway.',
  sso_user_disabled: 'Your account on this gateway is disabled. Ask an admin.',
  sso_failed: 'Single sign-on failed. Try again, or ask an admin to check the gateway’s log.',
  sso_invite_email_mismatch:
    'You signed in at your identity provider with another email address than the one this invite is for. Sign in there with the invited address, or ask your admin for an invite to your address.',
  sso_invite_used: 'This invite link was already used. Sign in instead.',
};

/** The SSO refusal the callback sent the browser here with (then removed from the address bar). */
export function useSsoError(): string | null {
  const [code] = useState(() => new URLSearchParams(window.location.search).get('sso_error'));
  if (code && window.location.search) {
    const url = new URL(window.location.href);
    url.searchParams.delete('sso_error');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return code ? (SSO_ERRORS[code] ?? SSO_ERRORS.sso_failed) : null;
}

export function SignInPage({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const ssoError = useSsoError();
  const methods = useQuery({
    queryKey: queryKeys.signInMethods,
    queryFn: () => unwrap(api.GET('/admin/api/auth/methods')),
    staleTime: 60_000,
  });
  const signIn = useMutation({
    mutationFn: () => unwrap(api.POST('/admin/api/auth/login', { body: { email, password } })),
    onSuccess: onSignedIn,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const sso = methods.data?.sso ?? null;
  const local = methods.data?.local ?? 'all';
  return (
    <AuthFrame title="Sign in">
      {notice && !signIn.isError && !ssoError && (
        <Alert color="blue" role="status">
          {notice}
        </Alert>
      )}
      {ssoError && (
        <Alert color="red" role="alert" title="Single sign-on refused">
          {ssoError}
        </Alert>
      )}
      {sso && (
        <Button component="a" href={sso.startUrl} size="md">
          {sso.label}
        </Button>
      )}
      {sso && local !== 'off' && (
        <Divider
          label={local === 'admins' ? 'Admins: break-glass password sign-in' : 'or'}
          labelPosition="center"
        />
      )}
      {local !== 'off' && (
        <form onSubmit={submit}>
          <Stack gap="sm">
            <TextInput
              label="Email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <CurrentPasswordInput label="Password" value={password} onChange={setPassword} />
            {signIn.isError && (
              <Alert color="red" role="alert">
                {messageOf(signIn.error)}
              </Alert>
            )}
            <Button type="submit" variant={sso ? 'default' : 'filled'} loading={signIn.isPending}>
              Sign in
            </Button>
          </Stack>
        </form>
      )}
      <Text size="sm">Members sign in here too, to get their keys and see their usage.</Text>
    </AuthFrame>
  );
}
