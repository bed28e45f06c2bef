#!/usr/bin/env bash
# A local single-node Apache Kafka (KRaft mode, no ZooKeeper) for tests and distributed runs.
#
#   bash scripts/kafka.sh start    # fetch (once), format (once), start, wait until it serves
#   bash scripts/kafka.sh stop     # SIGTERM, wait, SIGKILL if it hangs
#   bash scripts/kafka.sh status   # exit 0 if running
#   bash scripts/kafka.sh restart
#
# The broker comes from the official artifacts on Maven Central: org.apache.kafka:kafka_2.13 and its
# runtime dependencies, fetched with Maven into .cache/kafka/lib (scripts/kafka/pom.xml lists them,
# with a Log4j 2 binding so the broker logs to .cache/kafka/broker.log). Java 17+ is required.
#
# Environment:
#   KAFKA_PORT             client listener on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener (default KAFKA_PORT + 1)
#   KAFKA_HEAP_OPTS        JVM heap options (default -Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS         more JVM options (default -XX:TieredStopAtLevel=1: the C1 compiler only,
#                          which halves start time on a small machine; set it to "" for a long run
#                          that should get C2's code, e.g. a benchmark)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#
# State (data, pid, logs) lives in .cache/kafka for port 9092 and in .cache/kafka/port-<PORT> for
# any other port, so two brokers on two ports never share data. The jars are shared, and so is a
# class-data-sharing archive of the broker's classes (lib/kafka.jsa) that the first graceful stop
# writes: later starts load classes from it (about 3 s faster here). A stale archive is ignored by
# the JVM.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATES="$ROOT/scripts/kafka"
CACHE="$ROOT/.cache/kafka"
LIB="$CACHE/lib"
CDS="$LIB/kafka.jsa"

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
if [ "$PORT" = "9092" ]; then STATE="$CACHE"; else STATE="$CACHE/port-$PORT"; fi
DATA="$STATE/data"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/broker.log"
OUT="$STATE/broker.out"
PROPS="$STATE/server.properties"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }

need_java() {
  command -v java >/dev/null || die "java not found: Java 17 or newer is needed to run the broker"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Java $major found; Kafka 4 needs Java 17 or newer"
}

# The jars: fetched once per pom.xml content (a changed pom fetches again).
ensure_lib() {
  local stamp want
  want="$(sha256sum "$TEMPLATES/pom.xml" | cut -c1-16)"
  stamp="$LIB/.fetched-$want"
  [ -f "$stamp" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: Maven fetches the broker's jars from Maven Central"
  say "fetching org.apache.kafka:kafka_2.13 and its runtime dependencies with Maven into $LIB"
  local tmp="$CACHE/lib.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$CACHE"
  if ! mvn -B -q -f "$TEMPLATES/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1; then
    tail -n 30 "$CACHE/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not fetch the broker's jars (full output: $CACHE/mvn.log)"
  fi
  touch "$tmp/.fetched-$want"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
}

classpath() { echo "$LIB/*"; }

write_props() {
  mkdir -p "$STATE"
  sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$DATA|g" \
    "$TEMPLATES/server.properties" >"$PROPS"
}

# A cluster id is 16 random bytes, base64url without padding (what `StorageTool random-uuid`
# prints); Kafka rejects ids that start with '-'.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

ensure_formatted() {
  [ -f "$DATA/meta.properties" ] && return 0
  mkdir -p "$DATA"
  local id
  id="$(new_cluster_id)"
  say "formatting KRaft storage in $DATA (cluster id $id)"
  java -cp "$(classpath)" -Dlog4j2.configurationFile="$TEMPLATES/log4j2.yaml" -Dkafka.logs.dir="$STATE" \
    kafka.tools.StorageTool format -t "$id" -c "$PROPS" >"$STATE/format.log" 2>&1 \
    || { cat "$STATE/format.log" >&2; die "formatting the storage failed"; }
}

pid_alive() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started_in_log() {
  # "Kafka Server started" is logged once the broker and controller serve requests. $1 is where this
  # start's lines begin; if the log rolled over meanwhile, the new file is all this start's.
  [ -f "$LOG" ] || return 1
  local from="$1"
  [ "$(stat -c %s "$LOG")" -lt "$from" ] && from=1
  tail -c +"$from" "$LOG" 2>/dev/null | grep -q 'Kafka Server started'
}

# One start or stop at a time per broker (two test runs may both find the port free).
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another kafka.sh holds $STATE/.lock"
}

cmd_start() {
  if pid_alive; then
    say "already running (pid $(cat "$PIDFILE"), 127.0.0.1:$PORT)"
    return 0
  fi
  if port_open "$PORT"; then
    die "127.0.0.1:$PORT is taken by another process (not this script's broker); stop it or set KAFKA_PORT"
  fi
  need_java
  ensure_lib
  write_props
  ensure_formatted
  local log_from=1
  [ -f "$LOG" ] && log_from=$(( $(stat -c %s "$LOG") + 1 ))
  local t0=$SECONDS
  local cds
  if [ -f "$CDS" ]; then cds="-XX:SharedArchiveFile=$CDS"; else cds="-XX:ArchiveClassesAtExit=$STATE/kafka.jsa.tmp"; fi
  # setsid: the broker outlives this script and the terminal; its pid is written below.
  # shellcheck disable=SC2086
  setsid java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_JVM_OPTS--XX:TieredStopAtLevel=1} "$cds" \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$TEMPLATES/log4j2.yaml" -Dkafka.logs.dir="$STATE" \
    -cp "$(classpath)" kafka.Kafka "$PROPS" >"$OUT" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  say "starting (pid $pid) on 127.0.0.1:$PORT, log $LOG"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 20 "$OUT" >&2 || true
      die "the broker exited during start; see $LOG and $OUT"
    fi
    if port_open "$PORT" && started_in_log "$log_from"; then
      say "ready on 127.0.0.1:$PORT after $((SECONDS - t0)) s"
      return 0
    fi
    if [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
      die "not serving on 127.0.0.1:$PORT after ${START_TIMEOUT} s (still running as pid $pid); see $LOG and $OUT"
    fi
    sleep 0.3
  done
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  local pid t0=$SECONDS killed=0
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$STOP_TIMEOUT" ]; then
      say "no exit ${STOP_TIMEOUT} s after SIGTERM: sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      killed=1
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  # The first graceful stop dumped the class-data-sharing archive; share it with later starts.
  if [ -f "$STATE/kafka.jsa.tmp" ]; then
    if [ "$killed" = 0 ] && [ ! -f "$CDS" ]; then mv -f "$STATE/kafka.jsa.tmp" "$CDS"; else rm -f "$STATE/kafka.jsa.tmp"; fi
  fi
  say "stopped after $((SECONDS - t0)) s"
}

cmd_status() {
  if pid_alive; then
    if port_open "$PORT"; then
      echo "kafka: running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
    else
      echo "kafka: running (pid $(cat "$PIDFILE")) but 127.0.0.1:$PORT does not accept connections yet"
    fi
    return 0
  fi
  if port_open "$PORT"; then
    echo "kafka: not started by this script, but 127.0.0.1:$PORT accepts connections"
  else
    echo "kafka: not running"
  fi
  return 3
}

case "${1:-}" in
  start) lock; cmd_start ;;
  stop) lock; cmd_stop ;;
  restart) lock; cmd_stop; cmd_start ;;
  status) cmd_status ;;
  fetch) ensure_lib ;;
  *) echo "usage: bash scripts/kafka.sh start|stop|restart|status|fetch" >&2; exit 2 ;;
esac
