import {
  Alert,
  Anchor,
  Button,
  Code,
  CopyButton,
  Group,
  List,
  Loader,
  Modal,
  Stack,
  Tabs,
  Text,
  PasswordInput,
  TextInput,
  Textarea,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { api, messageOf, unwrap, type Schemas } from '../api/client';
import { queryKeys } from '../queries';

type Done = (label: string) => void;
/** The egress of a login: a proxy for the account (stored with it), or the account re-authenticated. */
type Egress = { proxyUrl?: string; accountId?: string };

/** Checks a pasted callback address against the login that was started: same redirect, same state, a code. */
export function checkCallback(
  pasted: string,
  start: { authorizeUrl: string; redirectUri: string },
): { ok: boolean; message: string } {
  const text = pasted.trim();
  if (!text) return { ok: false, message: '' };
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, message: 'This is not a web address. Copy the whole address from the address bar.' };
  }
  const expected = new URL(start.redirectUri);
  if (u.origin + u.pathname !== expected.origin + expected.pathname)
    return { ok: false, message: `The address must start with ${start.redirectUri}.` };
  const err = u.searchParams.get('error');
  if (err)
    return {
      ok: false,
      message: `The sign-in page answered “${u.searchParams.get('error_description') ?? err}”. Start again.`,
    };
  const state = new URL(start.authorizeUrl).searchParams.get('state');
  if (state && u.searchParams.get('state') !== state)
    return { ok: false, message: 'This address belongs to another login attempt. Use the newest one.' };
  if (!u.searchParams.get('code'))
    return { ok: false, message: 'The address has no code: copy it after the sign-in finished.' };
  return { ok: true, message: 'Looks right: add the account.' };
}

/** Cancels a pending login (DELETE /admin/api/accounts/logins/:id), then forgets it on this page. */
function useCancelLogin(reset: () => void) {
  return useMutation({
    mutationFn: (loginId: string) =>
      unwrap(api.DELETE('/admin/api/accounts/logins/{loginId}', { params: { path: { loginId } } })),
    onSuccess: reset,
  });
}

function CancelLogin({
  cancel,
  loginId,
  size,
}: {
  cancel: ReturnType<typeof useCancelLogin>;
  loginId: string;
  size?: 'xs';
}) {
  return (
    <Button
      size={size}
      variant="subtle"
      color="red"
      loading={cancel.isPending}
      onClick={() => cancel.mutate(loginId)}
    >
      Cancel login
    </Button>
  );
}

function BrowserLogin({ onDone, egress }: { onDone: Done; egress: Egress }) {
  const [pasted, setPasted] = useState('');
  const start = useMutation({
    mutationFn: () => unwrap(api.POST('/admin/api/accounts/oauth/start', { body: egress })),
  });
  const complete = useMutation({
    mutationFn: (s: Schemas['OAuthStartDto']) =>
      unwrap(
        api.POST('/admin/api/accounts/oauth/complete', {
          body: { loginId: s.loginId, callbackUrl: pasted.trim() },
        }),
      ),
    onSuccess: (r) => onDone(r.account.label || r.account.email || 'account'),
  });
  const cancel = useCancelLogin(() => {
    start.reset();
    setPasted('');
  });
  const s = start.data;
  const check = s ? checkCallback(pasted, s) : null;
  if (!s)
    return (
      <Stack gap="sm" align="flex-start">
        <Text size="sm">
          You sign in to the ChatGPT account in a new tab, like the Codex CLI does. At the end, that tab lands
          on a page that does not load (<Code>127.0.0.1:1455</Code>): that is expected. Its address is what
          you paste back here.
        </Text>
        {start.isError && <Alert color="red">{messageOf(start.error)}</Alert>}
        <Button onClick={() => start.mutate()} loading={start.isPending}>
          Start browser login
        </Button>
      </Stack>
    );
  return (
    <Stack gap="sm">
      <List type="ordered" size="sm" spacing={6}>
        <List.Item>
          <Anchor
            href={s.authorizeUrl}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="authorize-link"
          >
            Open the ChatGPT sign-in page
          </Anchor>{' '}
          (new tab) and sign in with the subscription account.
        </List.Item>
        <List.Item>
          The tab ends on an address starting with <Code>{s.redirectUri}</Code> that does not load. Copy that
          whole address from the address bar.
        </List.Item>
        <List.Item>Paste it below.</List.Item>
      </List>
      <TextInput
        label="Address the sign-in ended on"
        placeholder={`${s.redirectUri}?code=…&state=…`}
        value={pasted}
        onChange={(e) => setPasted(e.currentTarget.value)}
        error={check && !check.ok && check.message ? check.message : undefined}
        description={check?.ok ? check.message : 'Checked as you paste'}
        autoComplete="off"
        spellCheck={false}
      />
      {complete.isError && <Alert color="red">{messageOf(complete.error)}</Alert>}
      <Group>
        <Button disabled={!check?.ok} loading={complete.isPending} onClick={() => complete.mutate(s)}>
          Add account
        </Button>
        <Button variant="subtle" onClick={() => start.mutate()}>
          Start over
        </Button>
        <CancelLogin cancel={cancel} loginId={s.loginId} />
      </Group>
      {cancel.isError && <Alert color="red">{messageOf(cancel.error)}</Alert>}
    </Stack>
  );
}

function DeviceLogin({ onDone, egress }: { onDone: Done; egress: Egress }) {
  const start = useMutation({
    mutationFn: () => unwrap(api.POST('/admin/api/accounts/device/start', { body: egress })),
  });
  const s = start.data;
  const status = useQuery({
    queryKey: queryKeys.login(s?.loginId),
    enabled: !!s,
    queryFn: () =>
      unwrap(api.GET('/admin/api/accounts/logins/{loginId}', { params: { path: { loginId: s!.loginId } } })),
    refetchInterval: (q) =>
      q.state.data && q.state.data.status !== 'pending' ? false : (s?.interval ?? 5) * 1000,
  });
  const cancel = useCancelLogin(() => start.reset());
  const st = status.data?.status;
  useEffect(() => {
    if (st === 'completed') onDone('account');
  }, [st, onDone]);
  if (!s)
    return (
      <Stack gap="sm" align="flex-start">
        <Text size="sm">
          For when you sign in on another device: you get a short code to enter on the ChatGPT device page.
          The gateway waits for you in the background.
        </Text>
        {start.isError && <Alert color="red">{messageOf(start.error)}</Alert>}
        <Button onClick={() => start.mutate()} loading={start.isPending}>
          Get a device code
        </Button>
      </Stack>
    );
  return (
    <Stack gap="sm">
      <Text size="sm">
        Open{' '}
        <Anchor href={s.verificationUri} target="_blank" rel="noopener noreferrer">
          {s.verificationUri}
        </Anchor>{' '}
        and enter this code:
      </Text>
      <Group>
        <Code fz="xl" px="md" py="xs" data-testid="device-code">
          {s.userCode}
        </Code>
        <CopyButton value={s.userCode}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy}>
              {copied ? 'Copied' : 'Copy code'}
            </Button>
          )}
        </CopyButton>
      </Group>
      {(!st || st === 'pending') && (
        <Group gap="xs" role="status">
          <Loader size="xs" aria-hidden />
          <Text size="sm">
            Waiting for you to approve… (the code expires at {new Date(s.expiresAt).toLocaleTimeString()})
          </Text>
          <CancelLogin cancel={cancel} loginId={s.loginId} size="xs" />
        </Group>
      )}
      {cancel.isError && <Alert color="red">{messageOf(cancel.error)}</Alert>}
      {(st === 'expired' || st === 'failed') && (
        <Alert color="red" role="alert">
          {(status.data?.error as { message?: string } | null)?.message ??
            (st === 'expired' ? 'The code expired.' : 'The login failed.')}{' '}
          <Anchor component="button" onClick={() => start.mutate()}>
            Get a new code
          </Anchor>
        </Alert>
      )}
    </Stack>
  );
}

function ImportAuthJson({ onDone, egress }: { onDone: Done; egress: Egress }) {
  const [text, setText] = useState('');
  const [label, setLabel] = useState('');
  const [dragging, setDragging] = useState(false);
  const parsed = useMemo(() => {
    if (!text.trim()) return null;
    try {
      const j = JSON.parse(text);
      return j && typeof j === 'object' && 'tokens' in j
        ? { ok: true, value: j }
        : { ok: false, value: null };
    } catch {
      return { ok: false, value: null };
    }
  }, [text]);
  const imp = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/admin/api/accounts/import', {
          body: {
            authJson: parsed!.value,
            ...(label ? { label } : {}),
            ...(egress.proxyUrl ? { proxyUrl: egress.proxyUrl } : {}),
          },
        }),
      ),
    onSuccess: (r) => {
      setText('');
      onDone(r.account.label || r.account.email || 'account');
    },
  });
  const readFile = async (f: File | undefined) => {
    if (f) setText(await f.text());
  };
  return (
    <Stack gap="sm">
      <Text size="sm">
        Import the <Code>~/.codex/auth.json</Code> of a machine where the Codex CLI is signed in. Drop the
        file here, choose it, or paste its content.
      </Text>
      <div
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void readFile(e.dataTransfer.files[0]);
        }}
        style={{
          border: `2px dashed var(--mantine-color-${dragging ? 'blue-6' : 'gray-5'})`,
          borderRadius: 8,
          padding: 8,
        }}
      >
        <Textarea
          label="auth.json content"
          autosize
          minRows={4}
          maxRows={10}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          error={parsed && !parsed.ok ? 'This is not a Codex auth.json (JSON with "tokens").' : undefined}
          spellCheck={false}
          styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
        />
        <label style={{ display: 'inline-block', marginTop: 8, fontSize: 14 }}>
          Or choose the file:{' '}
          <input
            type="file"
            accept=".json,application/json"
            onChange={(e) => void readFile(e.currentTarget.files?.[0])}
          />
        </label>
      </div>
      <TextInput label="Label (optional)" value={label} onChange={(e) => setLabel(e.currentTarget.value)} />
      {imp.isError && <Alert color="red">{messageOf(imp.error)}</Alert>}
      <Button disabled={!parsed?.ok} loading={imp.isPending} onClick={() => imp.mutate()}>
        Import
      </Button>
    </Stack>
  );
}

export function AddAccountModal({
  opened,
  onClose,
  reauthOf,
  reauthId,
}: {
  opened: boolean;
  onClose: () => void;
  reauthOf?: string | null;
  /** The account logged in again: its stored egress proxy carries the sign-in's code exchange. */
  reauthId?: string | null;
}) {
  const qc = useQueryClient();
  const [proxyUrl, setProxyUrl] = useState('');
  const egress: Egress = proxyUrl.trim()
    ? { proxyUrl: proxyUrl.trim() }
    : reauthId
      ? { accountId: reauthId }
      : {};
  const [done, setDone] = useState<string | null>(null);
  const [tab, setTab] = useState<string | null>('browser');
  const [session, setSession] = useState(0);
  const finish = useMemo(
    () => (label: string) => {
      setDone(label);
      void qc.invalidateQueries({ queryKey: queryKeys.accounts });
      void qc.invalidateQueries({ queryKey: queryKeys.overview });
    },
    [qc],
  );
  const close = () => {
    setDone(null);
    setProxyUrl('');
    setSession((n) => n + 1);
    onClose();
  };
  return (
    <Modal
      opened={opened}
      onClose={close}
      title={reauthOf ? `Log in again: ${reauthOf}` : 'Add a subscription account'}
      size="lg"
    >
      {done ? (
        <Stack align="flex-start">
          <Alert color="teal" role="status" w="100%">
            Account added and ready: {done}.
          </Alert>
          <Button onClick={close}>Done</Button>
        </Stack>
      ) : (
        <Stack gap="sm" key={session}>
          <PasswordInput
            label="Egress proxy (optional)"
            description={
              reauthId
                ? 'Empty: the account keeps its own proxy. http://, https:// or socks5://, user:pass@ allowed.'
                : 'Every upstream call of this account goes through it: http://, https:// or socks5://, user:pass@ allowed.'
            }
            placeholder="socks5://user:pass@proxy.example:1080"
            value={proxyUrl}
            onChange={(e) => setProxyUrl(e.currentTarget.value)}
            autoComplete="off"
          />
          <Tabs value={tab} onChange={setTab}>
            <Tabs.List grow mb="md">
              <Tabs.Tab value="browser">Browser login</Tabs.Tab>
              <Tabs.Tab value="device">Device code</Tabs.Tab>
              <Tabs.Tab value="import">Import auth.json</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="browser">
              <BrowserLogin onDone={finish} egress={egress} />
            </Tabs.Panel>
            <Tabs.Panel value="device">
              {tab === 'device' && <DeviceLogin onDone={finish} egress={egress} />}
            </Tabs.Panel>
            <Tabs.Panel value="import">
              <ImportAuthJson onDone={finish} egress={egress} />
            </Tabs.Panel>
          </Tabs>
        </Stack>
      )}
    </Modal>
  );
}
