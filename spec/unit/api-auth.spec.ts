import { expect } from "chai";
import type { NextFunction, Request, Response } from "express";
import { bearerAuth, isLoopback, UnauthorizedError } from "../../lib/api/auth.ts";
import { Secret } from "../../lib/secret.ts";

function check(token: Secret | undefined, header: string | undefined): unknown {
  let passed: unknown = "not called";
  const req = { get: (name: string) => (name.toLowerCase() === "authorization" ? header : undefined) } as unknown as Request;
  bearerAuth(token)(req, {} as Response, ((err?: unknown) => (passed = err)) as NextFunction);
  return passed;
}

describe("API bearer token", () => {
  const token = new Secret("s3cret-token");

  it("lets the right token through", () => {
    expect(check(token, "Bearer s3cret-token")).to.equal(undefined);
  });

  it("refuses a missing, wrong, differently long or wrongly spelt token", () => {
    for (const header of [undefined, "", "Bearer", "Bearer ", "Bearer s3cret-toke", "Bearer s3cret-token2", "bearer s3cret-token", "Basic s3cret-token", "s3cret-token"]) {
      expect(check(token, header), String(header)).to.be.instanceOf(UnauthorizedError);
    }
  });

  it("without a configured token every request passes (loopback only; serve refuses other addresses)", () => {
    expect(check(undefined, undefined)).to.equal(undefined);
  });

  it("knows which listen addresses are loopback", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) expect(isLoopback(host), host).to.equal(true);
    for (const host of ["0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"]) expect(isLoopback(host), host).to.equal(false);
  });
});
