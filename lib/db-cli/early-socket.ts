/**
 * A TCP connection to the server opened before `pg` is loaded, for pg to
 * adopt (its `stream` option). Loading pg and Node's crypto takes a few
 * milliseconds of a ~90 ms no-op run; meanwhile the server accepts the
 * connection and forks the backend that will serve it, instead of starting
 * only once pg asks.
 *
 * pg calls `connect(port, host)` on the stream it is handed and waits for its
 * 'connect' event. This socket is already connecting: it ignores the call and
 * replays what pg missed — the 'connect' event, or the error that ended the
 * attempt (held until then, so an early refusal cannot crash the process).
 */
import { Socket } from 'node:net';

export class EarlySocket extends Socket {
  #connected = false;
  #error: Error | undefined;
  readonly #holdError = (err: Error) => {
    this.#error ??= err;
  };

  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super();
    this.setNoDelay(true);
    this.once('connect', () => {
      this.#connected = true;
    });
    this.on('error', this.#holdError);
    super.connect(port, host);
  }

  /** pg's call: the attempt is already under way; report what it missed. */
  override connect(...args: unknown[]): this {
    const [port, host] = args;
    if (Number(port) !== this.port || host !== this.host) {
      // Never expected (both come from pg's own connection parameters); connecting elsewhere silently would be worse.
      throw new Error(`the database connection was opened to ${this.host}:${this.port}, not ${String(host)}:${String(port)}`);
    }
    this.off('error', this.#holdError);
    const error = this.#error;
    if (error) process.nextTick(() => this.emit('error', error));
    else if (this.#connected) process.nextTick(() => this.emit('connect'));
    return this;
  }
}
