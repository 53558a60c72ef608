/**
 * RPC URLs often carry an API key in the path or query (".../?api-key=..." or "/v2/<key>").
 * Only scheme, host and port survive redaction.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hasSecretParts = (u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.username !== "" || u.password !== "";
    return `${u.protocol}//${u.host}${hasSecretParts ? "/***" : ""}`;
  } catch {
    return "<unparseable url>";
  }
}

/** Replace every occurrence of each secret in `text`: URLs by their redacted form, anything else by "***". */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    out = out.split(secret).join(/^[a-z]+:\/\//i.test(secret) ? redactUrl(secret) : "***");
  }
  return out;
}
