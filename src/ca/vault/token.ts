// The Vault provider's token: the configured Token, or one from an AppRole login; looked up when
// the provider is configured (a wrong token fails there, with Vault's message), then renewed at
// two thirds of its TTL for as long as it is renewable, as Vault's LifetimeWatcher does for
// Consul. When renewal fails or the token can no longer be renewed, an AuthMethod logs in again.
import { backoffDelay } from '../backoff.js';
import type { Clock } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { VaultAuthMethod } from '../config.js';
import { VaultError, type VaultClient } from './client.js';

const SECOND = 1000;

export interface TokenSource {
  readonly token?: string;
  readonly authMethod?: VaultAuthMethod;
}

interface Lease {
  readonly ttlSeconds: number;
  readonly renewable: boolean;
  /** What to ask for on renewal: the TTL the token was created with. */
  readonly incrementSeconds?: number;
}

/** A refusal of the credentials themselves (a wrong token or AppRole secret) is the field's fault. */
function asFieldError(err: unknown, field: string): unknown {
  return err instanceof VaultError && (err.status === 400 || err.status === 401 || err.status === 403) ? ValidationError.of(field, err.message) : err;
}

export class VaultToken {
  private cancel = (): void => undefined;
  private failures = 0;
  private stopped = false;
  /** Renewals that succeeded (visible in the log and to tests). */
  renewals = 0;
  logins = 0;

  constructor(
    private readonly client: VaultClient,
    private readonly source: TokenSource,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Obtains and checks the token, then keeps it alive. */
  async start(): Promise<void> {
    const lease = this.source.authMethod ? await this.login().catch((err: unknown) => Promise.reject(asFieldError(err, 'Config.AuthMethod'))) : await this.lookup();
    this.schedule(lease);
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private async login(): Promise<Lease> {
    const auth = this.source.authMethod as VaultAuthMethod;
    const mount = (auth.MountPath ?? auth.Type).replace(/^\/+|\/+$/g, '');
    const res = await this.client.call('POST', `auth/${mount}/login`, { role_id: auth.Params.role_id, secret_id: auth.Params.secret_id }, { token: null });
    const token = res.auth?.client_token;
    if (!token) throw new Error(`vault CA provider: the ${auth.Type} login at auth/${mount}/login answered no client_token`);
    this.client.token = token;
    this.logins++;
    const ttlSeconds = res.auth?.lease_duration ?? 0;
    return { ttlSeconds, renewable: res.auth?.renewable ?? false, incrementSeconds: ttlSeconds };
  }

  private async lookup(): Promise<Lease> {
    this.client.token = this.source.token ?? '';
    const res = await this.client.call('GET', 'auth/token/lookup-self').catch((err: unknown) => Promise.reject(asFieldError(err, 'Config.Token')));
    const data = res.data ?? {};
    const ttlSeconds = Number(data.ttl ?? 0);
    return { ttlSeconds, renewable: data.renewable === true, incrementSeconds: Number(data.creation_ttl ?? 0) || ttlSeconds };
  }

  /** Renews (or logs in again) at two thirds of what is left; a token without a TTL needs nothing. */
  private schedule(lease: Lease): void {
    if (this.stopped || lease.ttlSeconds <= 0) return;
    if (!lease.renewable && !this.source.authMethod) {
      this.log.warn({ ttlSeconds: lease.ttlSeconds }, 'the Vault token is not renewable: the Vault CA provider stops working when it expires; give a renewable token or an AuthMethod');
      return;
    }
    const ms = Math.max(SECOND, (lease.ttlSeconds * SECOND * 2) / 3);
    this.cancel = this.clock.setTimeout(() => void this.refresh(lease), ms);
  }

  private async refresh(previous: Lease): Promise<void> {
    try {
      const lease = previous.renewable ? await this.renew(previous) : await this.login();
      this.failures = 0;
      this.schedule(lease);
    } catch (err) {
      this.failures++;
      const retryMs = backoffDelay(this.failures, { baseMs: SECOND, maxMs: 30 * SECOND });
      this.log.warn({ err: String(err), retryMs, failures: this.failures }, 'renewing the Vault token failed');
      // A token that cannot be renewed any more is replaced by a new login.
      if (!this.stopped) this.cancel = this.clock.setTimeout(() => void this.refresh(this.source.authMethod ? { ttlSeconds: 0, renewable: false } : previous), retryMs);
    }
  }

  private async renew(previous: Lease): Promise<Lease> {
    const increment = previous.incrementSeconds ?? previous.ttlSeconds;
    const res = await this.client.call('POST', 'auth/token/renew-self', { increment: `${increment}s` });
    const ttlSeconds = res.auth?.lease_duration ?? 0;
    this.renewals++;
    this.log.debug({ ttlSeconds }, 'renewed the Vault token');
    // Near its max TTL Vault grants less each time: an AuthMethod logs in again before the end.
    if (this.source.authMethod && ttlSeconds < increment / 2) return { ttlSeconds, renewable: false };
    return { ttlSeconds, renewable: res.auth?.renewable ?? false, incrementSeconds: increment };
  }
}
