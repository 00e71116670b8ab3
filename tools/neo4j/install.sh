#!/usr/bin/env bash
# Build raregraph's local Neo4j server launcher (tools/neo4j) from Maven Central. Idempotent:
# when target/raregraph-neo4j-launcher.jar and target/lib/ are newer than the sources it does
# nothing (pass --force to rebuild). Extra arguments go to Maven, e.g. -Dmaven.repo.local=DIR.
#
# Needs: Java 17+ and Maven 3.6+ on PATH, and access to Maven Central (first build only).
# Download size, first build on a fresh machine: about 170 MB into ~/.m2/repository, of which
# about 125 MB are the runtime jars (Neo4j 5.26.31 Community, org.neo4j:neo4j, and its ~210
# dependencies, copied again to tools/neo4j/target/lib) and the rest Maven's own plugins.
# Time: about 50 s cold (mostly downloading), under 10 s with a warm ~/.m2.
#
# After it: `raregraph neo4j start` (or kg/neo4j_server.start) runs the server; see
# tools/neo4j/src/main/java/org/raregraph/neo4j/Launcher.java for the java command line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/raregraph-neo4j-launcher.jar"
lib="$here/target/lib"
source_file="$here/src/main/java/org/raregraph/neo4j/Launcher.java"

force=0
mvn_args=()
for arg in "$@"; do
  if [[ "$arg" == "--force" ]]; then force=1; else mvn_args+=("$arg"); fi
done

fail() { echo "install.sh: $*" >&2; exit 1; }

command -v java >/dev/null 2>&1 || fail "java is not on PATH; install a Java 17+ runtime (e.g. apt-get install openjdk-17-jdk-headless)"
command -v mvn >/dev/null 2>&1 || fail "mvn is not on PATH; install Apache Maven 3.6+ (e.g. apt-get install maven)"
java_major="$(java -version 2>&1 | sed -n -E '1s/.*version "([0-9]+).*/\1/p')"
[[ -n "$java_major" && "$java_major" -ge 17 ]] || fail "Java 17+ is needed, found: $(java -version 2>&1 | head -n 1)"
echo "install.sh: java $java_major at $(command -v java); $(mvn -v 2>/dev/null | head -n 1 | sed 's/\x1b\[[0-9;]*m//g')"

up_to_date() {
  [[ -f "$jar" ]] && compgen -G "$lib/neo4j-*.jar" >/dev/null || return 1
  [[ ! "$here/pom.xml" -nt "$jar" ]] || return 1
  [[ ! "$source_file" -nt "$jar" ]] || return 1
}

if [[ "$force" -eq 0 ]] && up_to_date; then
  echo "install.sh: launcher already built and up to date: $jar"
else
  echo "install.sh: building the launcher (first build downloads about 170 MB from Maven Central) ..."
  start_s=$SECONDS
  mvn -B -q -Dstyle.color=never -f "$here/pom.xml" package "${mvn_args[@]+"${mvn_args[@]}"}"
  echo "install.sh: built $jar in $((SECONDS - start_s)) s"
fi

neo4j_jar="$(compgen -G "$lib/neo4j-kernel-[0-9]*.jar" | head -n 1)"
neo4j_version="$(basename "$neo4j_jar" .jar)"
echo "install.sh: Neo4j ${neo4j_version#neo4j-kernel-} Community; $(ls "$lib" | wc -l) jars, $(du -sh "$lib" | cut -f1) in $lib"
echo "install.sh: start with: raregraph neo4j start   (Bolt on bolt://127.0.0.1:7687, auth disabled unless RAREGRAPH_NEO4J_PASSWORD is set)"
