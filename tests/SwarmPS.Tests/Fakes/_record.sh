# Shared by the fake agent CLIs: records argv (NUL-separated), stdin, cwd and SWARM_* next to the
# prompt file, so tests can compare what arrived with what was sent, byte for byte.
rec_dir=$(dirname "${SWARM_PROMPT_FILE:-/tmp/x}")
printf '%s\0' "$@" > "$rec_dir/fake-argv.bin"
pwd > "$rec_dir/fake-cwd.txt"
env | grep '^SWARM_' | sort > "$rec_dir/fake-env.txt"
# The prompt: from the argument after -p / --message / exec --json / run ..., else stdin.
prompt=""
