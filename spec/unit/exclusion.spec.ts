import { expect } from "chai";
import { exclusionTest } from "../../lib/cli/job-options.ts";
import { isAdminAccountSession } from "../../lib/link/admin-account.ts";
import { InputError } from "../../lib/errors.ts";

// issue 6 defect 6: JIDs compared in canonical form (RFC 7622)
describe("--exclude and the admin account's own session compare canonical JIDs", () => {
  const session = (jid: string) => ({ jid, bare: jid.split("/")[0] as string });

  it("protects vip@example.com when VIP@Example.COM is excluded, and only that account", () => {
    const excluded = exclusionTest(["VIP@Example.COM"]);
    expect(excluded(session("vip@example.com/laptop"))).to.equal(true);
    expect(excluded(session("other@example.com/laptop"))).to.equal(false);
  });

  it("matches a full JID case-insensitively in local and domain, but not in the resource", () => {
    const excluded = exclusionTest(["VIP@Example.com/Laptop"]);
    expect(excluded(session("vip@example.com/Laptop"))).to.equal(true);
    expect(excluded(session("vip@example.com/laptop"))).to.equal(false);
  });

  it("refuses an --exclude with a bidi override", () => {
    expect(() => exclusionTest(["vip@example.com/\u202eevil"])).to.throw(InputError, /--exclude.*U\+202E/);
  });

  it("knows the admin account's session when the account JID is written with capitals", () => {
    expect(isAdminAccountSession({ bare: "admin@example.com", resource: "cxfr-admin-1a2b" }, "Admin@Example.com")).to.equal(true);
  });
});
