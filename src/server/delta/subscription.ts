// What a delta client has asked for, for one type: wildcard and/or explicit names
// (go-control-plane pkg/server/stream/v3/subscription.go). Separate from what it holds.

export const WILDCARD = '*';

export class Subscription {
  private wildcard = false;
  private readonly names = new Set<string>();
  private seenRequest = false;

  /**
   * Applies one request's subscription changes. The first request for a type with an empty
   * subscribe list is the legacy wildcard (for the types that allow it: Clusters, Listeners);
   * `*` subscribes the wildcard explicitly and unsubscribing `*` ends it.
   */
  apply(subscribe: readonly string[], unsubscribe: readonly string[], allowLegacyWildcard: boolean): void {
    if (!this.seenRequest && subscribe.length === 0 && allowLegacyWildcard) this.wildcard = true;
    this.seenRequest = true;
    for (const name of subscribe) {
      if (name === WILDCARD) this.wildcard = true;
      else this.names.add(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) this.wildcard = false;
      else this.names.delete(name);
    }
  }

  /** True once the client has sent any request for this type. */
  get active(): boolean {
    return this.seenRequest;
  }

  get isWildcard(): boolean {
    return this.wildcard;
  }

  explicitNames(): ReadonlySet<string> {
    return this.names;
  }

  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }
}
