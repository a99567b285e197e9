// A minimal typed event emitter: listeners are isolated from each other (one throwing listener is
// reported, never allowed to stop the emitter or the listeners after it).

export type Listener<T> = (value: T) => void;
export type Unsubscribe = () => void;

export class TypedEmitter<Events extends object> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();
  /** listener calls that threw (a media path never dies for an observer's bug) */
  listenerErrors = 0;
  lastListenerError: unknown;
  /** set to log listener errors; by default they are counted and kept in lastListenerError */
  onListenerError: ((err: unknown, event: keyof Events) => void) | undefined;

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
    if (!set || set.size === 0) return; // most events of a frame's path have no listener: no copy
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[E]>)(value);
      } catch (err) {
        this.listenerErrors++;
        this.lastListenerError = err;
        try {
          this.onListenerError?.(err, event);
        } catch {
          // the error reporter itself failed: already counted
        }
      }
    }
  }
}
