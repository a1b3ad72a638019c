/**
 * Recognises wattflow's own processes on the node from their command line, and their role:
 * `wattflow <role> …`, `node …/dist/cli.js <role> …`, `node --import tsx src/cli.ts <role> …`
 * (the role must be one of the CLI's roles, so another program's `cli.js up` is not taken for
 * wattflow unless its argument happens to be a wattflow role name too).
 */
export function wattflowRoleOf(argv: readonly string[], roles: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < argv.length - 1; i++) {
    const a = argv[i]!;
    const base = a.slice(a.lastIndexOf('/') + 1);
    if (base === 'wattflow' || ((base === 'cli.js' || base === 'cli.ts') && /(^|\/)(dist|src)\/cli\.[jt]s$/.test(a))) {
      const role = argv[i + 1]!;
      if (roles.has(role)) return role;
    }
  }
  return undefined;
}
