/**
 * The test clock. Every test starts with `Date` stopped at TEST_NOW (see
 * setup.ts): the app, the mock engine and the test read this instant, never
 * the machine's clock, so no outcome depends on when or where the suite runs
 * (CI also runs it with the system clock a year ahead). A test that needs time
 * to pass moves the clock itself with `vi.setSystemTime`.
 */
export const TEST_NOW = Date.parse("2025-03-10T12:00:00Z");

/** TEST_NOW plus `offsetMs`, as an ISO timestamp. */
export function testIso(offsetMs = 0): string {
  return new Date(TEST_NOW + offsetMs).toISOString();
}
