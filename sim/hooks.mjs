// Lets Node run the TypeScript sources as they are (type stripping): src/ imports its siblings as `./x.js` (the
// NodeNext convention), which exist only as `./x.ts` until a build. This resolve hook maps a relative `.js` import
// that is missing to the `.ts` file beside it. Loaded with `node --import ./sim/hooks.mjs` (docs/adr/0014).
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
      const url = new URL(specifier, context.parentURL);
      if (!existsSync(fileURLToPath(url))) {
        const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
        if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
      }
    }
    return next(specifier, context);
  },
});
