import { describe, it } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";
import { createAccessPolicy, hostnameOf, isLoopbackHost, ruleFor, tokenMatches } from "../../../services/common/access.ts";
import { TglensError } from "../../../services/common/errors.ts";

const ADMIN = "a".repeat(32);
const READ = "r".repeat(32);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TglensError, String(err));
    return err.code;
  }
  assert.fail("expected a refusal");
}

describe("access", () => {
  it("compares tokens with crypto.timingSafeEqual on digests, and checks both tokens every time", (t) => {
    const spy = t.mock.method(crypto, "timingSafeEqual");
    // The module imported the function by name: make that binding see the spy.
    syncBuiltinESMExports();
    t.after(() => {
      spy.mock.restore();
      syncBuiltinESMExports();
    });
    assert.equal(tokenMatches("short", "a much longer expected token"), false, "different lengths compare without throwing");
    assert.equal(spy.mock.callCount(), 1);
    const [a, b] = spy.mock.calls[0]!.arguments as [Buffer, Buffer];
    assert.equal(a.length, 32);
    assert.equal(b.length, 32, "sha-256 digests: the lengths say nothing about the token");
    const policy = createAccessPolicy({ adminToken: ADMIN, readToken: READ, allowedHosts: [] });
    spy.mock.resetCalls();
    assert.equal(policy.check({ method: "GET", headers: { host: "localhost", authorization: `Bearer ${ADMIN}` } }, "read"), "admin");
    assert.equal(spy.mock.callCount(), 2, "the read token is compared even when the admin token matched");
  });

  it("takes the route's declared rule, else public for the API description, else read for GET and admin for changes", () => {
    assert.equal(ruleFor("GET", "/health", "open"), "open");
    assert.equal(ruleFor("GET", "/openapi.json", undefined), "public");
    assert.equal(ruleFor("GET", "/docs/static/index.html", undefined), "public");
    assert.equal(ruleFor("GET", "/search", undefined), "read");
    assert.equal(ruleFor("HEAD", "/search", undefined), "read");
    assert.equal(ruleFor("GET", undefined, undefined), "read");
    for (const m of ["POST", "PUT", "PATCH", "DELETE"]) assert.equal(ruleFor(m, "/store", undefined), "admin");
  });

  it("knows loopback hosts and reads host names out of Host headers", () => {
    for (const h of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.53"]) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ["0.0.0.0", "::", "192.168.1.5", "tglens.example.com"]) assert.equal(isLoopbackHost(h), false, h);
    assert.equal(hostnameOf("LocalHost:8000"), "localhost");
    assert.equal(hostnameOf("[::1]:8000"), "::1");
    assert.equal(hostnameOf("example.com."), "example.com");
    for (const bad of ["", "a b", "evil.example/x", "user@evil.example", "[::1"]) assert.equal(hostnameOf(bad), undefined, bad);
  });

  it("checks the Host before the token, and the content type last", () => {
    const policy = createAccessPolicy({ adminToken: ADMIN, readToken: undefined, allowedHosts: [] });
    assert.equal(
      refusal(() => policy.check({ method: "POST", headers: { host: "evil.example" } }, "admin")),
      "TGLENS_FORBIDDEN",
    );
    assert.equal(
      refusal(() => policy.check({ method: "POST", headers: { host: "localhost" } }, "admin")),
      "TGLENS_UNAUTHORIZED",
    );
    assert.equal(
      refusal(() => policy.check({ method: "POST", headers: { host: "localhost", authorization: `Bearer ${ADMIN}` } }, "admin")),
      "TGLENS_UNSUPPORTED_MEDIA_TYPE",
    );
    // Only a read token: nobody can change anything.
    const readOnly = createAccessPolicy({ adminToken: undefined, readToken: READ, allowedHosts: [] });
    assert.equal(readOnly.check({ method: "GET", headers: { host: "localhost", authorization: `Bearer ${READ}` } }, "read"), "read");
    assert.equal(
      refusal(() => readOnly.check({ method: "DELETE", headers: { host: "localhost", authorization: `Bearer ${READ}` } }, "admin")),
      "TGLENS_FORBIDDEN",
    );
  });
});
