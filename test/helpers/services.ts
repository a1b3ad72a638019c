/**
 * Real-service discovery for tests. A test that needs a server (Kafka, Redis, InfluxDB, …)
 * reads its address from the environment. Without it the test is skipped with the reason,
 * except under CI=true, where a missing service is a failure (the CI script starts them all).
 */
export interface ServiceHandle {
  /** The address from the environment ('' when absent and skipped). */
  value: string;
  /** Pass as the `skip` option of `test()`/`describe()`: a reason string, or false. */
  skip: string | false;
}

export function service(envVar: string, what = envVar): ServiceHandle {
  const value = process.env[envVar];
  if (value && value.trim() !== '') return { value: value.trim(), skip: false };
  if (process.env.CI === 'true') {
    throw new Error(
      `${envVar} is not set: this test needs a real ${what}, and under CI=true a missing service is a failure ` +
        '(.ci/run starts every service through scripts/services/)',
    );
  }
  return {
    value: '',
    skip: `${envVar} not set: needs a real ${what} (start it with scripts/services/ and export ${envVar})`,
  };
}

/**
 * A tool a test runs (a JDK with Maven, Python with grpcio, …): `problem()` says what is missing
 * (undefined when usable). Without it the test is skipped with the reason, except under CI=true,
 * where it is a failure (.ci/run installs what the tests need).
 */
export function tool(what: string, problem: () => string | undefined, install: string): ServiceHandle {
  const missing = problem();
  if (missing === undefined) return { value: what, skip: false };
  if (process.env.CI === 'true') throw new Error(`${what} is not usable (${missing}): under CI=true a missing tool is a failure (${install})`);
  return { value: '', skip: `${what} not usable (${missing}): ${install}` };
}
