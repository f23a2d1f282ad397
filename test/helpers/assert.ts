// Test helper: assertions chai lacks without plugins (no chai-as-promised in this project).

import { expect } from 'chai';

/**
 * Await `promise`, expect it to reject with an instance of `type` whose message matches
 * `pattern` (when given), and return the error for further checks.
 */
export async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  pattern?: RegExp | string,
): Promise<T> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a rejection').to.not.equal(undefined);
  if (!(error instanceof type)) {
    throw new Error(`expected a ${type.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
  }
  if (pattern !== undefined) {
    if (typeof pattern === 'string') expect(error.message).to.include(pattern);
    else expect(error.message).to.match(pattern);
  }
  return error;
}

/** Call `fn`, expect it to throw an instance of `type`, and return the error for further checks. */
export function expectThrow<T extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => T): T {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    return e as T;
  }
  return expect.fail(`expected a ${type.name}`) as never;
}
