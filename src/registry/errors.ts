// Typed registry errors: callers branch on the class, never on message text.

export class RegistryError extends Error {
  override name = "RegistryError";
}

/** The store cannot be reached (or did not answer within its bounded timeout). */
export class RegistryUnavailableError extends RegistryError {
  override name = "RegistryUnavailableError";
  constructor(
    readonly store: string,
    override readonly cause: unknown,
  ) {
    super(`${store} registry unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Create of an existing id, or an update whose expected version is stale. */
export class ConflictError extends RegistryError {
  override name = "ConflictError";
}

export class NotFoundError extends RegistryError {
  override name = "NotFoundError";
}

/** Bad input: empty or oversized ids and fields, negative TTLs … */
export class RegistryValidationError extends RegistryError {
  override name = "RegistryValidationError";
}
