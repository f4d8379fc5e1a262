const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A caller's id as a uuid parameter, or null when it cannot be one (then it matches no row):
 * compared as uuid the primary key's index is used, and a malformed id is not a server error.
 */
export const uuidOrNull = (id: string): string | null => (UUID.test(id) ? id : null);
