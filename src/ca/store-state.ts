// The CA's persisted state as one named document of the state store: durable (committed before
// save() resolves) and carried by the same backend as the catalog (SQLite, later etcd).
import type { Store } from '../store/types.js';
import type { CAStateStore, PersistedCAState } from './state-store.js';

export const CA_STATE_DOC = 'ca';

export function storeCAState(store: Store, key = CA_STATE_DOC): CAStateStore {
  return {
    load: () => Promise.resolve(store.getDoc<PersistedCAState>(key)?.value),
    save: async (state) => {
      await store.putDoc(key, state);
    },
  };
}
