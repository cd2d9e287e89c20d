// redirect and rebalance on the fleet shape: three independent Prosody nodes of one domain, one
// component link each (scenarios in spec/support/placement-scenarios.ts).
import { rmSync } from "node:fs";
import { fleetConfig } from "../support/cluster-config.ts";
import { fleetUsers } from "../support/fleet.ts";
import { startProsodyFleet } from "../support/lab/prosody-fleet.ts";
import { placementScenarios, type ScenarioNode } from "../support/placement-scenarios.ts";
import { specTempDir } from "../support/temp-dir.ts";

describe("redirect and rebalance on three Prosody nodes", function () {
  this.timeout(90_000);
  let nodes: ScenarioNode[] = [];
  let dir = "";
  let config = "";

  before(async () => {
    const users = fleetUsers(40);
    nodes = await startProsodyFleet({ size: 3, users });
    dir = specTempDir("cxfr-fleet");
    config = fleetConfig(dir, nodes);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.server.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  placementScenarios({ nodes: () => nodes, config: () => config, component: "cxfr.localhost" });
});
