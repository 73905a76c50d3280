# Sourced by the other scripts: find or install PostgreSQL's server binaries and run a
# private cluster for this checkout (never the system one). Works as root (the cluster
# runs as the `postgres` user, outside root's home) and as a normal user.

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] && command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then dir=$(pg_config --bindir); fi
  if [ -z "$dir" ] && command -v initdb >/dev/null; then dir=$(dirname "$(command -v initdb)"); fi
  [ -n "$dir" ] && echo "$dir"
}

ensure_postgres() {
  if [ -n "$(pg_bindir)" ]; then return; fi
  apt_install postgresql
  if [ -z "$(pg_bindir)" ]; then
    echo "PostgreSQL server binaries not found. Install them (Debian/Ubuntu: apt-get install postgresql, macOS: brew install postgresql) or set DATABASE_URL." >&2
    exit 1
  fi
}

# apt_install PACKAGE...: install Debian packages when running as root on apt (fresh CI machines).
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing $* (apt-get install)..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

pgbouncer_bin() {
  for candidate in /usr/sbin/pgbouncer /usr/bin/pgbouncer "$(command -v pgbouncer 2>/dev/null)"; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
}

# as_pg CMD...: run a server binary as the cluster's owner.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_cluster DIR [PORT]: create the cluster in DIR if needed, start it if stopped, and
# print its port. The port is kept in DIR/port so later runs find the same server.
start_cluster() {
  local dir=$1 port=${2:-} bin
  bin=$(pg_bindir)
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
  else
    mkdir -p "$dir" && chmod 700 "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); fi
  if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    if [ -z "$port" ] || ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null; then
      port=$(free_port)
    fi
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
  fi
  cat "$dir/port"
}

# The folder for this checkout's dev cluster: inside the checkout for a normal user; under
# /var/tmp as root, because `postgres` cannot enter root's home.
cluster_dir() {
  local repo=$1
  if [ "$(id -u)" = 0 ]; then
    echo "/var/tmp/blog-dev-$(printf %s "$repo" | cksum | cut -d' ' -f1)"
  else
    echo "$repo/.local/postgres"
  fi
}
