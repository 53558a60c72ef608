import { strict as assert } from "node:assert";
import { redactUrl, scrubSecrets } from "../../keeper/lib/redact";

describe("secret redaction", () => {
  const cases: [string, string][] = [
    ["https://mainnet.helius-rpc.com/?api-key=abc123", "https://mainnet.helius-rpc.com/***"],
    ["https://solana-mainnet.g.alchemy.com/v2/abc123", "https://solana-mainnet.g.alchemy.com/***"],
    ["https://user:pass@rpc.example.com", "https://rpc.example.com/***"],
    ["http://127.0.0.1:8899", "http://127.0.0.1:8899"],
    ["http://127.0.0.1:8899/", "http://127.0.0.1:8899"],
    ["not a url", "<unparseable url>"],
  ];
  for (const [url, expected] of cases) it(`${url} -> ${expected}`, () => assert.equal(redactUrl(url), expected));

  it("scrubs URLs and other secrets out of a message", () => {
    const url = "https://rpc.example.com/v2/KEY";
    const text = `request to ${url} failed; key 5Kd3... was used`;
    assert.equal(scrubSecrets(text, [url, "5Kd3...", ""]), "request to https://rpc.example.com/*** failed; key *** was used");
  });
});
