#!/usr/bin/env bash
# SwarmPS swarm worker: one per node of a swarm (one task of the swarm's Slurm job array).
# Needs bash 4.4+ (mapfile -d), coreutils and the agent CLI; no pwsh, no .NET, no jq.
#
# Usage: swarm-worker.sh SWARM_DIR NODE_INDEX
#
# Layout (written by Start-Swarm / Send-SwarmPrompt on the shared filesystem):
#   SWARM_DIR/worker.conf          KEY=VALUE lines (numbers and enum words only; never sourced)
#   SWARM_DIR/agent.argv           the agent argv template, NUL-separated; placeholders {prompt},
#                                  {promptFile}, {ticket}, {workspace}, {sessionId} (one pass, {prompt} last)
#   SWARM_DIR/system-prompt.txt    the swarm's system prompt (prepended to every injected prompt)
#   SWARM_DIR/nodes/K/inbox/ID.prompt    an injected prompt (written as a temp file, then renamed)
#   SWARM_DIR/nodes/K/outbox/ID.out      the agent's stdout   } written to *.tmp, then renamed;
#   SWARM_DIR/nodes/K/outbox/ID.err      the agent's stderr   } ID.json last: its presence means
#   SWARM_DIR/nodes/K/outbox/ID.json     exit status, cost    } "the response is complete"
#   SWARM_DIR/nodes/K/done/ID.prompt     prompts already answered (a restarted worker skips them)
#   SWARM_DIR/nodes/K/heartbeat          rewritten every HEARTBEAT_SECONDS (its mtime is what counts)
#   SWARM_DIR/stop                       present: every worker exits after its current prompt
set -u
swarm_dir="${1:?usage: swarm-worker.sh SWARM_DIR NODE_INDEX}"
node="${2:?usage: swarm-worker.sh SWARM_DIR NODE_INDEX}"
case "$node" in ''|*[!0-9]*) echo "swarm-worker: node index must be a number, got '$node'" >&2; exit 2;; esac

conf() { # conf KEY DEFAULT: a value from worker.conf, never evaluated
  local k v
  while IFS='=' read -r k v; do
    [ "$k" = "$1" ] && { printf '%s' "$v"; return; }
  done < "$swarm_dir/worker.conf"
  printf '%s' "$2"
}
swarm_id="$(conf SWARM_ID swarm)"
delivery="$(conf PROMPT_DELIVERY Argument)"
format="$(conf OUTPUT_FORMAT None)"
command_profile="$(conf COMMAND_PROFILE 0)"
hb_seconds="$(conf HEARTBEAT_SECONDS 10)"
poll_seconds="$(conf POLL_SECONDS 1)"

node_dir="$swarm_dir/nodes/$node"
inbox="$node_dir/inbox"; outbox="$node_dir/outbox"; done_dir="$node_dir/done"; work="$node_dir/work"; run_dir="$node_dir/run"
mkdir -p "$inbox" "$outbox" "$done_dir" "$work" "$run_dir" || exit 1

mapfile -d '' template < "$swarm_dir/agent.argv" || { echo "swarm-worker: cannot read $swarm_dir/agent.argv" >&2; exit 1; }
[ "${#template[@]}" -gt 0 ] || { echo "swarm-worker: empty agent argv" >&2; exit 1; }

beat() { date -u +%s > "$node_dir/heartbeat.tmp" && mv -f "$node_dir/heartbeat.tmp" "$node_dir/heartbeat"; }
beat
( while :; do sleep "$hb_seconds"; beat; done ) &
hb_pid=$!
trap 'kill "$hb_pid" 2>/dev/null; exit 0' TERM INT
trap 'kill "$hb_pid" 2>/dev/null' EXIT
printf 'swarm-worker: swarm %s node %s on %s (job %s)\n' "$swarm_id" "$node" "$(hostname 2>/dev/null || echo '?')" "${SLURM_JOB_ID:-?}"

now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# The cost in USD the agent reported, as a JSON number, or null. The command profile costs 0.
cost_of() {
  local out="$1" c=""
  if [ "$command_profile" = 1 ]; then printf '0'; return; fi
  case "$format" in
    ClaudeStreamJson) c="$(grep -o '"total_cost_usd":[ ]*[0-9.eE+-]*' "$out" | tail -n 1 | sed 's/.*:[ ]*//')" ;;
    AiderText) c="$(grep -o 'Cost: \$[0-9.]* message, \$[0-9.]* session' "$out" | tail -n 1 | sed 's/.*, \$\([0-9.]*\) session/\1/')" ;;
    OpenCodeJson)
      c="$(grep '"step_finish"' "$out" | grep -o '"cost":[ ]*[0-9.eE+-]*' | sed 's/.*:[ ]*//' |
           { s=0; while read -r x; do s="$(awk -v a="$s" -v b="$x" 'BEGIN{printf "%.10g", a+b}' 2>/dev/null || echo "$s")"; done; [ "$s" = 0 ] || echo "$s"; })" ;;
  esac
  case "$c" in ''|*[!0-9.eE+-]*) printf 'null';; *) printf '%s' "$c";; esac
}

run_one() {
  local id="$1" pf="$inbox/$1.prompt" full="$run_dir/$1.prompt" started ended code tok t
  # The full prompt: the system prompt, a blank line, the injected prompt (both byte for byte).
  if [ -s "$swarm_dir/system-prompt.txt" ]; then
    { cat "$swarm_dir/system-prompt.txt"; printf '\n\n'; cat "$pf"; } > "$full"
  else
    cat "$pf" > "$full"
  fi
  local prompt=""
  [ "$delivery" = Argument ] && prompt="$(cat "$full")"
  local argv=()
  for tok in "${template[@]}"; do
    t="${tok//"{promptFile}"/"$full"}"
    t="${t//"{ticket}"/"$swarm_id"}"
    t="${t//"{workspace}"/"$work"}"
    t="${t//"{sessionId}"/}"
    t="${t//"{prompt}"/"$prompt"}"
    argv+=("$t")
  done
  started="$(now_iso)"
  (
    cd "$work" || exit 127
    export SWARM_ID="$swarm_id" SWARM_NODE="$node" SWARM_INJECTION_ID="$id" SWARM_PROMPT_FILE="$full" SWARM_DIR="$swarm_dir"
    if [ "$delivery" = Stdin ]; then exec "${argv[@]}" < "$full"; else exec "${argv[@]}" < /dev/null; fi
  ) > "$outbox/$id.out.tmp" 2> "$outbox/$id.err.tmp"
  code=$?
  ended="$(now_iso)"
  mv -f "$outbox/$id.out.tmp" "$outbox/$id.out"
  mv -f "$outbox/$id.err.tmp" "$outbox/$id.err"
  printf '{"swarmId":"%s","node":%s,"injectionId":"%s","exitCode":%s,"costUsd":%s,"startedAt":"%s","endedAt":"%s","host":"%s"}\n' \
    "$swarm_id" "$node" "$id" "$code" "$(cost_of "$outbox/$id.out")" "$started" "$ended" "$(hostname 2>/dev/null | tr -cd 'A-Za-z0-9._-')" > "$outbox/$id.json.tmp"
  mv -f "$outbox/$id.json.tmp" "$outbox/$id.json"
  mv -f "$pf" "$done_dir/$id.prompt"
}

while [ ! -e "$swarm_dir/stop" ]; do
  # Oldest first. Ids are SwarmPS names ([A-Za-z0-9._-]), so ls output is safe to split on lines.
  found=0
  while IFS= read -r f; do
    case "$f" in *.prompt) ;; *) continue;; esac
    id="${f%.prompt}"
    case "$id" in ''|*[!A-Za-z0-9._-]*) continue;; esac
    found=1
    if [ -e "$done_dir/$id.prompt" ] && [ -e "$outbox/$id.json" ]; then rm -f "$inbox/$f"; continue; fi
    run_one "$id"
  done < <(ls -1tr -- "$inbox" 2>/dev/null)
  [ "$found" = 1 ] || sleep "$poll_seconds"
done
echo "swarm-worker: stop file found; node $node exits"
