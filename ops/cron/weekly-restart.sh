#!/bin/sh
# Weekly maintenance window for one node, for cron: drain it, restart it with the operator's command,
# wait until it is back, spread the users evenly again. Each step is judged by its exit code alone
# (0 moved everything; 1 some sessions not moved; 2 usage/config/journal/another job holds the node;
# 3 cannot connect; 130 interrupted). Without a TTY cxfr prints plain lines, never progress bars.
#
# Settings (environment; the cxfr ones as documented in README, e.g. CXFR_CONFIG for --config):
#   NODE             node to restart (a configured node name)               required
#   TARGETS          where its users go: node names or HOST:PORT, space-separated  required
#   RESTART_COMMAND  how to restart it, e.g. "ssh node-a systemctl restart prosody"  required
#   CXFR             the cxfr executable (default: cxfr)
#   CXFR_CONFIG      config file naming the nodes (optional: CXFR_* variables work too)
#   DRAIN_ARGS       extra drain flags (default: --grace 30s)
#   BACK_TIMEOUT     seconds to wait for the node to pass `cxfr check` again (default 600)
#   ALLOW_INCOMPLETE 1: restart even when the drain left sessions (exit 1); default: stop
#   REBALANCE_ARGS   default: rebalance --even
set -u

: "${NODE:?set NODE}" "${TARGETS:?set TARGETS}" "${RESTART_COMMAND:?set RESTART_COMMAND}"
CXFR=${CXFR:-cxfr}
DRAIN_ARGS=${DRAIN_ARGS:---grace 30s}
BACK_TIMEOUT=${BACK_TIMEOUT:-600}
REBALANCE_ARGS=${REBALANCE_ARGS:-rebalance --even}

cxfr() {
  if [ -n "${CXFR_CONFIG:-}" ]; then $CXFR --config "$CXFR_CONFIG" "$@"; else $CXFR "$@"; fi
}
say() { echo "$(date -u +%FT%TZ) weekly-restart: $*"; }

say "draining $NODE to $TARGETS"
# shellcheck disable=SC2086 # TARGETS and DRAIN_ARGS are word lists
cxfr --node "$NODE" drain --to $TARGETS $DRAIN_ARGS
rc=$?
if [ "$rc" -eq 1 ] && [ "${ALLOW_INCOMPLETE:-0}" = 1 ]; then
  say "drain left sessions on $NODE (exit 1); restarting anyway (ALLOW_INCOMPLETE=1)"
elif [ "$rc" -ne 0 ]; then
  say "drain failed (exit $rc); $NODE is not restarted"
  exit "$rc"
fi

say "restarting $NODE: $RESTART_COMMAND"
sh -c "$RESTART_COMMAND"
rc=$?
if [ "$rc" -ne 0 ]; then
  say "restart command failed (exit $rc)"
  exit "$rc"
fi

say "waiting up to ${BACK_TIMEOUT}s for $NODE to be back"
deadline=$(( $(date +%s) + BACK_TIMEOUT ))
until cxfr --node "$NODE" --quiet check >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "$NODE is not back after ${BACK_TIMEOUT}s"
    exit 3
  fi
  sleep 5
done

say "$NODE is back; rebalancing"
# shellcheck disable=SC2086
cxfr $REBALANCE_ARGS
rc=$?
say "done (rebalance exit $rc)"
exit "$rc"
