// cxfr's programmatic API: what `cxfr status` and the jobs are built from. The CLI (bin/cxfr) and the
// client handler (cxfr/client) are the other entry points.
export { loadConfig, selectNode, type ClusterConfig, type Config, type NodeConfig, type NodeMapSource } from "./config.ts";
export { CxfrError, ExitCode, InputError } from "./errors.ts";
export { openNode, type NodeSession } from "./cli/connect.ts";
export { groupByLink, openScope, openScopes, requireNodeMap, type LinkScope } from "./cli/scopes.ts";
export { TransferJob, type JobEvent, type TransferJobOptions } from "./jobs/runner.ts";
export type { JobSummary, Outcome } from "./jobs/outcomes.ts";
export { chooseTarget, parseTargets, type Target } from "./jobs/targets.ts";
export { homeOf, type WeightedNode } from "./jobs/home.ts";
export { parseHomeMap, type HomeLookup } from "./jobs/home-map.ts";
export { DEFAULT_TOLERANCE, parseTolerance, planEven, planRebalanceTo, planRedirect, type Placement, type Plan, type Tolerance } from "./jobs/placement.ts";
export { nodeMapReader, parseConnectedUsersInfo, type NodeMap, type NodeMapReader } from "./cluster/node-map.ts";
export { runningNodes } from "./cluster/running-nodes.ts";
export { clusterLocator, standaloneLocator, type Located, type Locator } from "./cluster/locate.ts";
export type { LiveSession } from "./xmpp/admin.ts";
