#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers Veza needs answer at the
# addresses named by DATABASE_URL and REDIS_URL.
#
#   deploy/local/services.sh          start what does not answer (default)
#   deploy/local/services.sh status   say what answers
#   deploy/local/services.sh stop     stop the servers this script started
#
# A service that already answers is used as is (only the database named in
# DATABASE_URL is created when missing). Otherwise the installed server
# binaries are started with their data under var/ (git-ignored). When the
# binaries are missing they are installed with apt-get if running as root;
# otherwise the script says what to install and exits non-zero.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/veza?sslmode=disable}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

VAR_DIR="$ROOT/var"
# Used only when, running as root, the postgres user cannot reach the project
# folder (for instance a checkout under /root).
FALLBACK_DIR="/var/tmp/veza-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
PG_WAIT_SECONDS=30
REDIS_WAIT_SECONDS=15

log() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
	printf '%s\n' "$*" >&2
	exit 1
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Show a path relative to the project when it lives inside it.
show_path() {
	case "$1" in
	"$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# Decode %XX escapes of a URL component.
url_decode() {
	local s="${1//+/%2B}"
	printf '%b' "${s//%/\\x}"
}

# parse_url URL DEFAULT_PORT: sets U_USER U_PASS U_HOST U_PORT U_PATH U_QUERY.
parse_url() {
	local url="$1" rest authority userinfo hostport
	U_USER='' U_PASS='' U_HOST='' U_PORT="$2" U_PATH='' U_QUERY=''
	rest="${url#*://}"
	if [[ "$rest" == *\?* ]]; then
		U_QUERY="${rest#*\?}"
		rest="${rest%%\?*}"
	fi
	rest="${rest%%#*}"
	authority="${rest%%/*}"
	[[ "$rest" == */* ]] && U_PATH="${rest#*/}"
	hostport="$authority"
	if [[ "$authority" == *@* ]]; then
		userinfo="${authority%@*}"
		hostport="${authority##*@}"
		U_USER="$(url_decode "${userinfo%%:*}")"
		[[ "$userinfo" == *:* ]] && U_PASS="$(url_decode "${userinfo#*:}")"
	fi
	if [[ "$hostport" == \[* ]]; then # [IPv6]:port
		U_HOST="${hostport#\[}"
		U_HOST="${U_HOST%%\]*}"
		hostport="${hostport#*\]}"
		[[ "$hostport" == :?* ]] && U_PORT="${hostport#:}"
	else
		U_HOST="${hostport%%:*}"
		[[ "$hostport" == *:?* ]] && U_PORT="${hostport##*:}"
	fi
	[[ -n "$U_HOST" ]] || U_HOST=127.0.0.1
	U_PATH="$(url_decode "$U_PATH")"
	[[ "$U_PORT" =~ ^[0-9]+$ ]] || die "bad port '$U_PORT' in $url"
}

# query_param NAME: value of NAME in U_QUERY, if any.
query_param() {
	local pair
	local IFS='&'
	for pair in $U_QUERY; do
		if [[ "${pair%%=*}" == "$1" ]]; then
			url_decode "${pair#*=}"
			return 0
		fi
	done
	return 0
}

parse_url "$DATABASE_URL" 5432
PG_HOST="$U_HOST" PG_PORT="$U_PORT" PG_USER="${U_USER:-postgres}" PG_PASS="$U_PASS"
PG_DB="${U_PATH%%/*}"
PG_DB="${PG_DB:-$PG_USER}"
PG_SSLMODE="$(query_param sslmode)"

parse_url "$REDIS_URL" 6379
REDIS_HOST="$U_HOST" REDIS_PORT="$U_PORT" REDIS_PASS="$U_PASS"

# answers HOST PORT: true when a TCP connection succeeds.
answers() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_for HOST PORT SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		answers "$1" "$2" && return 0
		sleep 0.25
	done
	return 1
}

# A local server can only be started for an address of this machine.
is_local_host() {
	case "$1" in
	localhost | 127.* | ::1 | 0.0.0.0 | ::) return 0 ;;
	esac
	local addr
	for addr in $(hostname -I 2>/dev/null || true); do
		[[ "$addr" == "$1" ]] && return 0
	done
	return 1
}

# Address to bind to: servers want an address, not the name localhost.
bind_address() {
	if [[ "$1" == localhost ]]; then printf '127.0.0.1'; else printf '%s' "$1"; fi
}

# ---------------------------------------------------------------- PostgreSQL

# Prints the bin folder holding initdb and pg_ctl: 15 if present, else newest.
pg_bindir() {
	local dir best=''
	if [[ -x /usr/lib/postgresql/15/bin/initdb && -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
		printf '%s' /usr/lib/postgresql/15/bin
		return 0
	fi
	while IFS= read -r dir; do
		[[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && best="$dir"
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
	[[ -n "$best" ]] || return 1
	printf '%s' "$best"
}

# Prints a psql to use: the one beside the server binaries, else any.
pg_psql() {
	local bindir
	if bindir="$(pg_bindir)" && [[ -x "$bindir/psql" ]]; then
		printf '%s' "$bindir/psql"
	elif command -v psql >/dev/null 2>&1; then
		command -v psql
	else
		return 1
	fi
}

# run_as USER CMD...: runs CMD as USER from / (the project folder may be
# closed to that user).
run_as() {
	local user="$1"
	shift
	(cd / && runuser -u "$user" -- "$@")
}

# Runs a command as the owner of the data folders (postgres when root).
as_pg_owner() {
	if is_root; then
		run_as postgres "$@"
	else
		"$@"
	fi
}

ensure_postgres_user() {
	is_root || return 0
	getent passwd postgres >/dev/null && return 0
	useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
		--shell /usr/sbin/nologin postgres
}

# pg_psql_run ARGS...: psql over TCP as the URL's user.
pg_psql_run() {
	local psql="$1"
	shift
	PGPASSWORD="$PG_PASS" PGSSLMODE="${PG_SSLMODE:-prefer}" PGCONNECT_TIMEOUT=5 \
		"$psql" -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"
}

# Creates the URL's database when missing. Returns non-zero on failure.
pg_create_database() {
	local psql found maint lit
	psql="$(pg_psql)" || {
		warn "postgres: warning: psql not found, cannot check that database $PG_DB exists"
		return 1
	}
	lit="'${PG_DB//\'/\'\'}'"
	for maint in postgres template1; do
		if found="$(pg_psql_run "$psql" -d "$maint" -tA -c "SELECT 1 FROM pg_database WHERE datname = $lit" 2>/dev/null)"; then
			[[ "$found" == 1 ]] && return 0
			local ident="\"${PG_DB//\"/\"\"}\""
			if pg_psql_run "$psql" -d "$maint" -c "CREATE DATABASE $ident" >/dev/null; then
				log "postgres: created database $PG_DB"
				return 0
			fi
			break
		fi
	done
	warn "postgres: warning: could not check or create database $PG_DB at $PG_HOST:$PG_PORT as user $PG_USER"
	return 1
}

# Prints the data folder of the local server for PG_PORT: an existing one if
# any, else a new one under var/ (or the fallback when unreachable by postgres).
pg_datadir() {
	local dir
	for dir in "$VAR_DIR/postgres/$PG_PORT" "$FALLBACK_DIR/postgres/$PG_PORT"; do
		if [[ -f "$dir/PG_VERSION" ]]; then
			printf '%s' "$dir"
			return 0
		fi
	done
	dir="$VAR_DIR/postgres/$PG_PORT"
	mkdir -p "$dir"
	if is_root; then
		chown postgres: "$dir"
		if ! run_as postgres test -w "$dir" -a -x "$dir"; then
			rmdir "$dir" 2>/dev/null || true
			rmdir "$VAR_DIR/postgres" 2>/dev/null || true
			dir="$FALLBACK_DIR/postgres/$PG_PORT"
			warn "postgres: the postgres user cannot reach the project folder; data goes to $dir instead"
			mkdir -p "$dir"
			chown postgres: "$dir"
		fi
	fi
	printf '%s' "$dir"
}

# Unix sockets have a short path limit: use the data folder when it fits.
pg_socket_dir() {
	if ((${#1} + 20 < 100)); then printf '%s' "$1"; else printf '/tmp'; fi
}

start_postgres() {
	local bindir datadir version sockdir logfile
	is_local_host "$PG_HOST" ||
		die "postgres: nothing answers at $PG_HOST:$PG_PORT, which is not this machine; start it or change DATABASE_URL"
	ensure_postgres_user
	datadir="$(pg_datadir)"
	bindir="$(pg_bindir)" || die "postgres: no PostgreSQL server binaries found under /usr/lib/postgresql"
	if [[ -f "$datadir/PG_VERSION" ]]; then
		version="$(<"$datadir/PG_VERSION")"
		[[ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ]] ||
			die "postgres: $(show_path "$datadir") was made by PostgreSQL $version, whose binaries are not installed (remove the folder to start afresh)"
		bindir="/usr/lib/postgresql/$version/bin"
	else
		local locale=C
		locale -a 2>/dev/null | grep -qix 'c.utf-\?8' && locale=C.UTF-8
		as_pg_owner "$bindir/initdb" -D "$datadir" -U "$PG_USER" --auth=trust \
			--encoding=UTF8 --locale="$locale" >"$datadir.initdb.log" 2>&1 || {
			tail -n 20 "$datadir.initdb.log" >&2
			die "postgres: initdb failed (log in $(show_path "$datadir.initdb.log"))"
		}
		rm -f "$datadir.initdb.log"
	fi
	sockdir="$(pg_socket_dir "$datadir")"
	logfile="$datadir/server.log"
	if ! as_pg_owner "$bindir/pg_ctl" -D "$datadir" -l "$logfile" -w -t "$PG_WAIT_SECONDS" \
		-o "-p $PG_PORT -k '$sockdir' -c listen_addresses='$(bind_address "$PG_HOST")'" \
		start >/dev/null; then
		tail -n 30 "$logfile" >&2 || true
		die "postgres: could not start the local server (log in $(show_path "$logfile"))"
	fi
	if ! wait_for "$PG_HOST" "$PG_PORT" "$PG_WAIT_SECONDS"; then
		tail -n 30 "$logfile" >&2 || true
		die "postgres: started but nothing answers at $PG_HOST:$PG_PORT (log in $(show_path "$logfile"))"
	fi
	log "postgres: started local server (data in $(show_path "$datadir"))"
	pg_create_database || die "postgres: could not create database $PG_DB"
}

ensure_postgres() {
	if answers "$PG_HOST" "$PG_PORT"; then
		log "postgres: answering at $PG_HOST:$PG_PORT"
		pg_create_database || true
	else
		start_postgres
	fi
}

stop_postgres() {
	local dir owner version pg_ctl stopped=0
	for dir in "$VAR_DIR"/postgres/* "$FALLBACK_DIR"/postgres/*; do
		[[ -f "$dir/PG_VERSION" ]] || continue
		version="$(<"$dir/PG_VERSION")"
		pg_ctl="/usr/lib/postgresql/$version/bin/pg_ctl"
		[[ -x "$pg_ctl" ]] || {
			warn "postgres: cannot stop $(show_path "$dir"): PostgreSQL $version binaries missing"
			continue
		}
		owner="$(stat -c %U "$dir")"
		local run=()
		if is_root && [[ "$owner" != root ]]; then run=(run_as "$owner"); fi
		"${run[@]}" "$pg_ctl" -D "$dir" status >/dev/null 2>&1 || continue
		"${run[@]}" "$pg_ctl" -D "$dir" -m fast -w stop >/dev/null
		log "postgres: stopped local server (data in $(show_path "$dir"))"
		stopped=1
	done
	((stopped)) || log "postgres: no local server running"
}

# --------------------------------------------------------------------- Redis

redis_server_bin() { command -v redis-server 2>/dev/null || { [[ -x /usr/sbin/redis-server ]] && printf /usr/sbin/redis-server; }; }

start_redis() {
	local bin dir args
	is_local_host "$REDIS_HOST" ||
		die "redis: nothing answers at $REDIS_HOST:$REDIS_PORT, which is not this machine; start it or change REDIS_URL"
	bin="$(redis_server_bin)" || die "redis: redis-server not found"
	dir="$VAR_DIR/redis/$REDIS_PORT"
	mkdir -p "$dir"
	args=(--daemonize yes --port "$REDIS_PORT" --bind "$(bind_address "$REDIS_HOST")"
		--dir "$dir" --save "" --appendonly no
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --databases 64)
	[[ -n "$REDIS_PASS" ]] && args+=(--requirepass "$REDIS_PASS")
	"$bin" "${args[@]}" || die "redis: could not start the local server (log in $(show_path "$dir/redis.log"))"
	if ! wait_for "$REDIS_HOST" "$REDIS_PORT" "$REDIS_WAIT_SECONDS"; then
		tail -n 30 "$dir/redis.log" >&2 || true
		die "redis: started but nothing answers at $REDIS_HOST:$REDIS_PORT (log in $(show_path "$dir/redis.log"))"
	fi
	log "redis: started local server (data in $(show_path "$dir"))"
}

ensure_redis() {
	if answers "$REDIS_HOST" "$REDIS_PORT"; then
		log "redis: answering at $REDIS_HOST:$REDIS_PORT"
	else
		start_redis
	fi
}

stop_redis() {
	local pidfile pid i stopped=0
	for pidfile in "$VAR_DIR"/redis/*/redis.pid; do
		[[ -f "$pidfile" ]] || continue
		pid="$(<"$pidfile")"
		if [[ "$pid" =~ ^[0-9]+$ ]] && grep -q redis "/proc/$pid/comm" 2>/dev/null; then
			kill "$pid"
			for ((i = 0; i < 40; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.25
			done
			log "redis: stopped local server (data in $(show_path "$(dirname "$pidfile")"))"
			stopped=1
		fi
		rm -f "$pidfile"
	done
	((stopped)) || log "redis: no local server running"
}

# ------------------------------------------------------------------ Install

# Installs the server binaries that are needed and missing (as root), or says
# what to install and exits.
ensure_binaries() {
	local need_pg="$1" need_redis="$2" pkgs=()
	if ((need_pg)) && ! pg_bindir >/dev/null; then pkgs+=(postgresql); fi
	if ((need_redis)) && ! redis_server_bin >/dev/null; then pkgs+=(redis-server); fi
	((${#pkgs[@]})) || return 0
	if ! is_root; then
		local what=''
		[[ " ${pkgs[*]} " == *" postgresql "* ]] && what="PostgreSQL at $PG_HOST:$PG_PORT"
		[[ " ${pkgs[*]} " == *" redis-server "* ]] && what="${what:+$what and }Redis at $REDIS_HOST:$REDIS_PORT"
		die "Nothing answers for $what, and the server binaries are not installed.
Install them with:  sudo apt-get install -y ${pkgs[*]}
(or start the servers yourself where DATABASE_URL / REDIS_URL point), then run this again."
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "Missing server binaries (${pkgs[*]}) and apt-get is not available: install them, then run this again."
	log "installing ${pkgs[*]} with apt-get..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if [[ " ${pkgs[*]} " == *" postgresql "* ]] && ! dpkg -s postgresql-common >/dev/null 2>&1; then
		# Install the binaries only: no system-wide "main" cluster grabbing
		# port 5432 with password authentication (as the postgres image does).
		apt-get install -y -qq postgresql-common >/dev/null
		if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
			sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' /etc/postgresql-common/createcluster.conf
		fi
	fi
	apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

# --------------------------------------------------------------------- Main

cmd="${1:-start}"
case "$cmd" in
start)
	need_pg=0 need_redis=0
	answers "$PG_HOST" "$PG_PORT" || need_pg=1
	answers "$REDIS_HOST" "$REDIS_PORT" || need_redis=1
	ensure_binaries "$need_pg" "$need_redis"
	ensure_postgres
	ensure_redis
	;;
stop)
	stop_postgres
	stop_redis
	;;
status)
	rc=0
	if answers "$PG_HOST" "$PG_PORT"; then log "postgres: answering at $PG_HOST:$PG_PORT"; else
		log "postgres: nothing answers at $PG_HOST:$PG_PORT"
		rc=1
	fi
	if answers "$REDIS_HOST" "$REDIS_PORT"; then log "redis: answering at $REDIS_HOST:$REDIS_PORT"; else
		log "redis: nothing answers at $REDIS_HOST:$REDIS_PORT"
		rc=1
	fi
	exit "$rc"
	;;
-h | --help | help)
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	;;
*) die "usage: $0 [start|stop|status]" ;;
esac
