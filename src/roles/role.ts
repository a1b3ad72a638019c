/**
 * What a CLI role is: a name, a one-line summary for `wattflow --help`, its own usage text, and
 * a run function taking the arguments after the role name. Long-running roles build their
 * components and hand them to core/lifecycle (shared HTTP server, /metrics, /healthz, /readyz,
 * graceful shutdown); one-shot roles (train, replay, models …) return an exit code.
 */
export interface Role {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}
