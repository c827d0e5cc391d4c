import { Alert, Anchor, Button, Divider, PasswordInput, Stack, Text } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure, messageOf, unwrap, type Schemas } from '../api/client';
import { Loading } from '../components/ui';
import { dateTime } from '../format';
import { AuthFrame, useSsoError } from './SignIn';

/** What a refused invite link means (src/auth/invites/invites.service.ts codes). */
const REFUSED: Record<string, { title: string; text: string }> = {
  invite_used: {
    title: 'This invite was already used',
    text: 'Someone (probably you) already used this link. Sign in with the password or single sign-on you chose then; if that was not you, tell your admin.',
  },
  invite_expired: {
    title: 'This invite has expired',
    text: 'Invite links work for a limited time. Ask your admin for a new one.',
  },
  invite_revoked: {
    title: 'This invite was withdrawn',
    text: 'Your admin withdrew this link or sent you a newer one. Use the newest link, or ask your admin.',
  },
  invite_invalid: {
    title: 'This invite link is not valid',
    text: 'The link may be incomplete: copy the whole link from the message you got, or ask your admin for a new one.',
  },
};

/** The token from `?token=…`, read once and then taken out of the address bar (and so out of the history). */
function useToken(): string {
  const [token] = useState(() => new URLSearchParams(window.location.search).get('token') ?? '');
  if (token && window.location.search.includes('token='))
    window.history.replaceState(null, '', '/admin/invite');
  return token;
}

/** /admin/invite?token=…: the invited person sets a password or signs in with SSO, then lands in their corner. */
export function InvitePage() {
  const token = useToken();
  const ssoError = useSsoError();
  const info = useQuery({
    queryKey: ['invite', token],
    enabled: !!token,
    retry: false,
    staleTime: Infinity,
    queryFn: () => unwrap(api.POST('/admin/api/invites/inspect', { body: { token } })),
  });
  if (!token)
    return (
      <AuthFrame title={ssoError ? 'Single sign-on did not finish' : 'Open your invite link'}>
        {ssoError && (
          <Alert color="red" role="alert" title="Single sign-on refused">
            {ssoError}
          </Alert>
        )}
        <Text>
          {ssoError
            ? 'Open your invite link again to try once more.'
            : 'This page needs the whole invite link your admin sent you.'}
        </Text>
        <SignInLink />
      </AuthFrame>
    );
  if (info.isPending) return <Loading what="your invite" />;
  if (info.isError) {
    const code = info.error instanceof ApiFailure ? (info.error.code ?? '') : '';
    const refused = REFUSED[code];
    return (
      <AuthFrame title={refused?.title ?? 'This invite cannot be opened'}>
        <Alert color={refused ? 'orange' : 'red'} role="alert">
          {refused?.text ?? messageOf(info.error)}
        </Alert>
        <SignInLink />
      </AuthFrame>
    );
  }
  return <AcceptInvite token={token} info={info.data} />;
}

function SignInLink() {
  return (
    <Anchor href="/admin/" size="sm">
      Go to the sign-in page
    </Anchor>
  );
}

function AcceptInvite({ token, info }: { token: string; info: Schemas['InviteInfoDto'] }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const accept = useMutation({
    mutationFn: () => unwrap(api.POST('/admin/api/invites/accept', { body: { token, password } })),
    // A full load: the app starts signed in and lands the member in their corner.
    onSuccess: () => window.location.assign('/admin/'),
  });
  const sso = useMutation({
    mutationFn: () => unwrap(api.POST('/admin/api/invites/sso', { body: { token } })),
    onSuccess: (r) => window.location.assign(r.url),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMismatch(password !== repeat);
    if (password === repeat) accept.mutate();
  };
  return (
    <AuthFrame title={`Welcome${info.name ? `, ${info.name}` : ''}`}>
      <Text>
        You are invited to this gateway as <strong>{info.email}</strong> ({info.role}). The link works until{' '}
        {dateTime(info.expiresAt)}, once.
      </Text>
      {info.sso && (
        <Button size="md" onClick={() => sso.mutate()} loading={sso.isPending}>
          {`Continue with ${info.sso.label.replace(/^Sign in with /i, '')}`}
        </Button>
      )}
      {sso.isError && (
        <Alert color="red" role="alert">
          {messageOf(sso.error)}
        </Alert>
      )}
      {info.sso && info.canSetPassword && <Divider label="or set a password" labelPosition="center" />}
      {info.canSetPassword ? (
        <form onSubmit={submit}>
          <Stack gap="sm">
            <PasswordInput
              label="New password"
              description="At least 8 characters."
              autoComplete="new-password"
              required
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <PasswordInput
              label="Repeat the password"
              autoComplete="new-password"
              required
              value={repeat}
              onChange={(e) => setRepeat(e.currentTarget.value)}
              error={mismatch ? 'The two passwords differ.' : undefined}
            />
            {accept.isError && (
              <Alert color="red" role="alert">
                {messageOf(accept.error)}
              </Alert>
            )}
            <Button type="submit" variant={info.sso ? 'default' : 'filled'} loading={accept.isPending}>
              Set password and sign in
            </Button>
          </Stack>
        </form>
      ) : (
        !info.sso && (
          <Alert color="orange" role="alert">
            Password sign-in is turned off here and single sign-on is not set up. Ask your admin.
          </Alert>
        )
      )}
    </AuthFrame>
  );
}
