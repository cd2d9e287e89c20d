import { expect } from "chai";
import { seenElsewhere } from "../../lib/jobs/seen-elsewhere.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";

const session = (jid: string): LiveSession => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string });
const ref = (jid: string) => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string });

describe("seenElsewhere: is a reset client back on a target node?", () => {
  let t = 0;
  const now = () => t;

  it("yes when its full JID is listed there (case-folded localpart and domain)", async () => {
    const seen = seenElsewhere([async () => [session("Ana@Localhost/phone")]], now);
    expect(await seen(ref("ana@localhost/phone"))).to.equal(true);
    expect(await seen(ref("ana@localhost/laptop"))).to.equal(false);
  });

  it("yes for a new resource of its account; not for another device that was there when first asked", async () => {
    let listed = [session("ana@localhost/laptop")];
    const seen = seenElsewhere([async () => listed], now);
    t = 1000;
    expect(await seen(ref("ana@localhost/phone"))).to.equal(false);
    t = 2000;
    expect(await seen(ref("ana@localhost/phone"))).to.equal(false);
    listed = [session("ana@localhost/laptop"), session("ana@localhost/x1f3")];
    t = 3000;
    expect(await seen(ref("ana@localhost/phone"))).to.equal(true);
  });

  it("reads every target, counts a failing one as showing nothing, and shares one round between callers", async () => {
    let reads = 0;
    const seen = seenElsewhere([
      async () => {
        reads++;
        throw new Error("link down");
      },
      async () => {
        reads++;
        return [session("ben@localhost/a")];
      },
    ], now);
    t = 10_000;
    expect(await Promise.all([seen(ref("ben@localhost/a")), seen(ref("cy@localhost/a"))])).to.deep.equal([true, false]);
    expect(reads).to.equal(2);
    t = 10_600;
    await seen(ref("cy@localhost/a"));
    expect(reads).to.equal(4);
  });
});
