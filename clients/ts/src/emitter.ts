/** A listener of the event whose payload is `P`. */
export type Listener<P> = (payload: P) => void;

/** Typed events: `on(name, listener)` for each name of `Events`, whose value is the payload type. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Calls `listener` on every `event` from now on; returns the function that stops it. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Stops calling `listener` on `event`. */
  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    this.listeners.get(event)?.delete(listener);
  }

  /**
   * Calls the listeners of `event` with `payload`. A listener that throws does not stop the others
   * nor the client: its error is thrown again from a microtask, where the app's global error
   * handler sees it.
   */
  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[E]>)(payload);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
