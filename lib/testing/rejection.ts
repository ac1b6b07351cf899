// Asserting that an operation is refused, without the pitfall of failing inside the same try that catches.

/** Resolves with the error `operation` rejects with; rejects when it unexpectedly succeeds. */
export async function rejection(operation: Promise<unknown>, what: string): Promise<Error> {
  let outcome: unknown;
  try {
    outcome = await operation;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  throw new Error(`expected ${what} to be refused, but it succeeded: ${JSON.stringify(outcome ?? null).slice(0, 300)}`);
}
