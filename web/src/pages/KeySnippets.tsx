import { Alert, Button, Code, CopyButton, Group, Stack, Tabs, Text } from '@mantine/core';
import {
  builtinProviderShell,
  builtinProviderToml,
  customProviderShell,
  customProviderToml,
} from '../codex-config';

function Copyable({ value, label }: { value: string; label: string }) {
  return (
    <CopyButton value={value}>
      {({ copied, copy }) => (
        <Button
          size="xs"
          variant="light"
          onClick={copy}
          aria-label={`Copy ${label}`}
          style={{ flexShrink: 0 }}
        >
          {copied ? 'Copied' : 'Copy'}
        </Button>
      )}
    </CopyButton>
  );
}

function Snippet({ code, label }: { code: string; label: string }) {
  return (
    <Stack gap={4}>
      <Group justify="flex-end">
        <Copyable value={code} label={label} />
      </Group>
      <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
        {code}
      </Code>
    </Stack>
  );
}

/** The new key, shown once, with ready-to-paste set-ups for the usual clients. */
export function KeyReveal({
  keyValue,
  baseUrl,
  model,
}: {
  keyValue: string;
  baseUrl: string;
  model: string;
}) {
  return (
    <Stack gap="sm">
      <Alert color="orange" title="Copy the key now" role="status">
        This is the only time the key is shown. The gateway stores only a hash of it; if it is lost, rotate
        it.
      </Alert>
      <Group wrap="nowrap" align="center">
        <Code fz="sm" style={{ wordBreak: 'break-all', flex: 1, minWidth: 0 }} data-testid="new-key">
          {keyValue}
        </Code>
        <Copyable value={keyValue} label="key" />
      </Group>
      <Text size="sm" fw={500}>
        Use it from
      </Text>
      <ClientSnippets keyValue={keyValue} baseUrl={baseUrl} model={model} />
    </Stack>
  );
}

/** Ready-to-paste set-ups for the usual clients (env vars, curl, Python, Node, Codex CLI) with `keyValue`. */
export function ClientSnippets({
  keyValue,
  baseUrl,
  model,
}: {
  keyValue: string;
  baseUrl: string;
  model: string;
}) {
  const v1 = `${baseUrl}/v1`;
  const env = `export OPENAI_BASE_URL=${v1}\nexport OPENAI_API_KEY=${keyValue}`;
  const curl = `curl ${v1}/chat/completions \\\n  -H "Authorization: Bearer ${keyValue}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`;
  const python = `from openai import OpenAI\n\nclient = OpenAI(base_url="${v1}", api_key="${keyValue}")\nresponse = client.responses.create(model="${model}", input="Hello")\nprint(response.output_text)`;
  const node = `import OpenAI from 'openai';\n\nconst client = new OpenAI({ baseURL: '${v1}', apiKey: '${keyValue}' });\nconst response = await client.responses.create({ model: '${model}', input: 'Hello' });\nconsole.log(response.output_text);`;
  const codexCustom = `# ~/.codex/config.toml\n${customProviderToml({ v1, model })}\n# then, in your shell:\n${customProviderShell(keyValue)}`;
  const codexBuiltin = `# ~/.codex/config.toml\n${builtinProviderToml({ v1, model })}\n# the built-in provider reads the key from ~/.codex/auth.json, not the environment:\n${builtinProviderShell(keyValue)}`;
  return (
    <Tabs defaultValue="env">
      <Tabs.List>
        <Tabs.Tab value="env">Env vars</Tabs.Tab>
        <Tabs.Tab value="curl">curl</Tabs.Tab>
        <Tabs.Tab value="python">Python</Tabs.Tab>
        <Tabs.Tab value="node">Node</Tabs.Tab>
        <Tabs.Tab value="codex">Codex CLI</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="env" pt="xs">
        <Snippet code={env} label="environment variables" />
      </Tabs.Panel>
      <Tabs.Panel value="curl" pt="xs">
        <Snippet code={curl} label="curl command" />
      </Tabs.Panel>
      <Tabs.Panel value="python" pt="xs">
        <Snippet code={python} label="Python snippet" />
      </Tabs.Panel>
      <Tabs.Panel value="node" pt="xs">
        <Snippet code={node} label="Node snippet" />
      </Tabs.Panel>
      <Tabs.Panel value="codex" pt="xs">
        <Stack gap="xs">
          <Text size="sm">
            Either a custom provider (the key from an environment variable) or the CLI&apos;s built-in
            provider pointed at the gateway (the key stored by <Code>codex login --with-api-key</Code>). Both
            use WebSocket when the gateway allows it and fall back to HTTP on their own.
          </Text>
          <Text size="sm" fw={500}>
            Custom provider
          </Text>
          <Snippet code={codexCustom} label="Codex CLI custom provider config" />
          <Text size="sm" fw={500}>
            Built-in provider
          </Text>
          <Snippet code={codexBuiltin} label="Codex CLI built-in provider config" />
        </Stack>
      </Tabs.Panel>
    </Tabs>
  );
}
