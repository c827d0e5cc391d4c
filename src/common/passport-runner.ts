import type { FastifyReply, FastifyRequest } from 'fastify';
import passport from 'passport';
import CustomStrategy from 'passport-custom';
import type { RequestAuth } from './auth-context.js';

export type Verify = (req: FastifyRequest) => Promise<RequestAuth | null>;

/**
 * A passport strategy (passport-custom) run on its own `Passport` instance rather than the process-global one
 * that @nestjs/passport's AuthGuard uses: two app instances in one process (replicas in tests) would otherwise
 * overwrite each other's strategy registrations and share caches. See docs/adr/0008-keys-auth.md.
 * `verify` resolves RequestAuth, null for "no credentials", or rejects with an ApiError (passed through as is).
 */
export class PassportRunner {
  private readonly instance = new passport.Passport();

  constructor(
    private readonly name: string,
    verify: Verify,
  ) {
    this.instance.use(
      name,
      new CustomStrategy((req, done) => {
        verify(req as unknown as FastifyRequest).then(
          (auth) => done(null, auth ?? false),
          (err: unknown) => done(err),
        );
      }),
    );
  }

  authenticate(req: FastifyRequest, reply: FastifyReply): Promise<RequestAuth | null> {
    return new Promise((resolve, reject) => {
      const middleware = this.instance.authenticate(
        this.name,
        { session: false },
        (err: unknown, user: RequestAuth | false | undefined) => (err ? reject(err) : resolve(user || null)),
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      middleware(req, reply, (err?: unknown) => (err ? reject(err) : resolve(null)));
    });
  }
}
