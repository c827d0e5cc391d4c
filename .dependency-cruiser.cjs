/* global module */
/**
 * Import rules between the layers of src/ (docs/architecture.md). Run by `npm run lint` (depcruise).
 * Lower layers never import higher ones; no import cycles anywhere.
 */
const FEATURES =
  '^src/(auth|keys|limits|settings|audit|accounts|gateway|responses|chat|models|usage|metrics|worker|health|web-admin|startup)/';
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment:
        'No import cycle between folders (auth → keys → auth …), which the file-level rule cannot see. ' +
        'A folder counts with its subfolders, so this sees sibling loops, not parent ↔ child ones.',
      // Parent ↔ child loops (accounts ↔ accounts/oauth) are covered by the file-level accounts rules below.
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'base-layers-stay-low',
      severity: 'error',
      comment: 'common/, config/, prisma/, redis/, queue/ are used by every feature and import none.',
      from: { path: '^src/(common|config|prisma|redis|queue)/' },
      to: { path: FEATURES },
    },
    {
      name: 'upstream-is-a-client',
      severity: 'error',
      comment:
        'upstream/ talks to the Codex backend; it knows nothing of routes, pipeline, pool, keys or people.',
      from: { path: '^src/upstream/' },
      to: { path: '^src/(auth|keys|limits|accounts|gateway|responses|chat|models|usage|worker|web-admin)/' },
    },
    {
      name: 'accounts-below-the-pipeline',
      severity: 'error',
      comment:
        'Accounts (store, OAuth, pool) are used by the pipeline and the routes, never the other way round.',
      from: { path: '^src/accounts/' },
      to: { path: '^src/(gateway|responses|chat|models|limits|usage)/' },
    },
    {
      name: 'pipeline-below-the-routes',
      severity: 'error',
      comment: 'gateway/ is shared by the model routes; it must not import one of them.',
      from: { path: '^src/gateway/' },
      to: { path: '^src/(responses|chat)/' },
    },
    {
      name: 'routes-independent',
      severity: 'error',
      comment: 'The OpenAI routes share code through gateway/ and upstream/, not through each other.',
      from: { path: '^src/(chat|responses)/' },
      to: { path: '^src/(chat|responses)/', pathNot: '^src/$1/' },
    },
    {
      name: 'limits-below-keys',
      severity: 'error',
      comment: 'limits/ is used by keys/ and the pipeline; it imports neither (/v1/me lives in keys/).',
      from: { path: '^src/limits/' },
      to: { path: '^src/(auth|keys|settings|gateway|responses|chat|accounts)/' },
    },
    {
      name: 'keys-below-auth',
      severity: 'error',
      comment:
        'auth/ (sign-in, users, the admin authenticator) uses keys/; keys/ reaches the admin guards through common/.',
      from: { path: '^src/(keys|settings|audit)/' },
      to: { path: '^src/auth/' },
    },
    {
      name: 'accounts-protocol-below-accounts',
      severity: 'error',
      comment:
        'accounts/oauth/ (the OAuth protocol) and accounts/dto/ are used by accounts/, never the other way round.',
      from: { path: '^src/accounts/(oauth|dto)/' },
      to: { path: '^src/accounts/', pathNot: '^src/accounts/$1/' },
    },
    {
      name: 'accounts-below-its-login-flows',
      severity: 'error',
      comment: 'accounts/login/ (the login flows) uses accounts/; accounts/ itself never imports it.',
      from: { path: '^src/accounts/[^/]+$' },
      to: { path: '^src/accounts/login/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
