/**
 * @module http-grammar
 * RFC 9110 §5.6.2 `token` (field names, methods, Connection options, cookie names): one definition for every layer
 * that checks one (the origin's pre-dispatch check, rule parsers, log formats, CORS), so they cannot drift apart.
 * Pure; imports nothing.
 */

/** The `tchar` characters, as the inside of a regex character class. */
export const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z";

/** A whole string that is one token. */
export const TOKEN = new RegExp(`^[${TCHAR}]+$`);
