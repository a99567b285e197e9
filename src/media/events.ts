// A minimal typed event emitter: listeners are isolated from each other (one throwing listener is
// reported, never allowed to stop the emitter or the listeners after it).

export type Listener<T> = (value: T) => void;
export type Unsubscribe = () => void;

export class TypedEmitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();
  /** called when a listener throws; defaults to rethrowing asynchronously (visible, not fatal to the loop) */
  onListenerError: (err: unknown, event: keyof Events) => void = (err) => {
    queueMicrotask(() => {
      throw err;
    });
  };

  on<E extends keyof Events>(event: E, fn: Listener<Events[E]>): Unsubscribe {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(fn as Listener<never>);
    return () => this.off(event, fn);
  }

  once<E extends keyof Events>(event: E, fn: Listener<Events[E]>): Unsubscribe {
    const off = this.on(event, (v) => {
      off();
      fn(v);
    });
    return off;
  }

  off<E extends keyof Events>(event: E, fn: Listener<Events[E]>): void {
    this.#listeners.get(event)?.delete(fn as Listener<never>);
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[E]>)(value);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }
}
